// Switchboard: one executable, every role. See docs/architecture.md for the request's path.
using Switchboard.Cli;

return await CommandLine.RunAsync(args, Console.Out, Console.Error);

/// <summary>The entry point, public for WebApplicationFactory in the tests.</summary>
public partial class Program;
