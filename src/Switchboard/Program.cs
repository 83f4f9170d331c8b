// Switchboard: one executable, every role. See docs/architecture.md for the request's path.
using Switchboard.Cli;
using Switchboard.Hosting;

// WebApplicationFactory (the tests' in-memory server) runs this entry point with nothing but its
// host settings as --key=value words, --applicationName among them, and captures the host it
// builds: that is a serve, past the command line (whose parser would rightly refuse those words).
if (args.Length > 0 && args.All(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal))
    && args.Any(a => a.StartsWith("--applicationName=", StringComparison.Ordinal)))
{
    await ServeHost.Build(args).RunAsync();
    return CommandLine.Ok;
}

return await CommandLine.RunAsync(args, Console.Out, Console.Error);

/// <summary>The entry point, public for WebApplicationFactory in the tests.</summary>
public partial class Program;
