// What nearly every test file opened with (HTTP status codes, JSON bodies, the store kinds, this
// folder's helpers): said once here instead of in a header copied into each file.
global using System.Net;
global using System.Net.Http.Json;
global using System.Text.Json.Nodes;
global using Switchboard.Storage;
global using Switchboard.Tests.Infrastructure;
global using static Switchboard.Tests.Infrastructure.ProblemAssert;
