// The namespaces nearly every feature uses (the store and its SQL helpers, problem answers, JSON
// nodes), imported once for the whole project; scripts/folder-graph counts an edge only where a
// file names something of them.
global using System.Text.Json.Nodes;
global using Switchboard.Errors;
global using Switchboard.Storage;
