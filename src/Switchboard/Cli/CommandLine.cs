using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Config;
using Switchboard.Handlers;
using Switchboard.Hosting;
using Switchboard.Storage;

namespace Switchboard.Cli;

/// <summary>The one executable's commands.</summary>
public static class CommandLine
{
    public const string Usage = """
        usage: switchboard <command> [options]

          serve [--urls URL] [--data DIR] [--workers N]   api + executor + recon in one process (default http://127.0.0.1:8080, ./data)
          api [--urls URL]                                the HTTP API alone (distributed deployment)
          executor [--workers N]                          runs jobs from the shared queue
          recon                                           repairs and expiry; one active, the others stand by
          users create NAME [--admin] [--credits N] [--password P] [--actor A]
          users rename NAME_OR_ID NEW_NAME                 names: 1-64 of A-Z a-z 0-9 . _ @ + -, a letter or digit at each end
          users list
        """ + "\n" + UserSecurityCommands.Usage + "\n" + """
          keys create NAME | keys revoke KEY_PREFIX
          credits grant NAME N [--note TEXT] [--actor A]
          credits adjust NAME N --note TEXT [--actor A]   N may be negative; refused below zero
          credits show NAME | credits audit               audit: balances against the ledger, charges and refunds
          catalog apply FILE.yaml | catalog export
          catalog check                                   lists offers not live until moved to an endpoint profile
        """ + "\n" + UsageCommand.Usage + "\n" + ConfigCommands.Usage + "\n" + AuditCommand.Usage + "\n" + """

        serve, api, executor and recon take --metrics-urls URL (e.g. http://127.0.0.1:9101): Prometheus
        metrics at URL/metrics. serve and api answer /metrics on their main URL only with
        Switchboard__MetricsBearerToken (or ...TokenFile) set, to that bearer token.

        Every command takes --config FILE (the bootstrap config: store and queue; api, executor
        and recon need one with redis.uri). Without it, commands use the embedded store in
        --data DIR (default ./data).
        """;

    private static readonly HashSet<string> Flags = ["admin", "help", "reveal", "encrypted", "inactive", "per-minute", "password-stdin"];

    /// <summary>The command named by the arguments; anything else (none, or only options) means serve.</summary>
    public static string CommandOf(string[] args) => args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";

    /// <param name="input">stdin for the commands that read it; null means the console's.</param>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TextReader? input = null)
    {
        var command = CommandOf(args);
        try
        {
            var rest = args.Length > 0 && args[0] == command ? args[1..] : args;
            switch (command)
            {
                case "serve":
                    await ServeHost.Build(rest).RunAsync();
                    return 0;
                case "api":
                    await ServeHost.Build(rest, Role.Api).RunAsync();
                    return 0;
                case "executor":
                    await ServeHost.BuildWorker(rest, Role.Executor).RunAsync();
                    return 0;
                case "recon":
                    await ServeHost.BuildWorker(rest, Role.Recon).RunAsync();
                    return 0;
            }
            var parsed = new Args(args, Flags);
            if (command is "help" or "--help" || parsed.Has("help"))
            {
                output.WriteLine(Usage);
                return 0;
            }
            if (command == "keygen")
            {
                return ConfigCommands.KeyGen(output);
            }
            if (command is not ("users" or "keys" or "credits" or "catalog" or "config" or "usage" or "audit"))
            {
                throw new UsageException($"unknown command '{command}'");
            }
            var bootstrap = BootstrapConfig.Resolve(parsed.Option("config"), parsed.Option("data") ?? "./data");
            await using var store = bootstrap.OpenStore();
            store.Migrate();
            var exit = command switch
            {
                "users" when UserSecurityCommands.Handles(parsed) => UserSecurityCommands.Run(parsed, store, input, output, error),
                "users" => ManagementCommands.Users(parsed, store, output),
                "keys" => ManagementCommands.Keys(parsed, store, output, error),
                "credits" => ManagementCommands.Credits(parsed, store, output, error),
                "config" => ConfigCommands.Run(parsed, bootstrap, store, BuiltInHandlers(), output, error),
                "usage" => UsageCommand.Run(parsed, store, output, error),
                "audit" => AuditCommand.Run(parsed, store, output, error),
                _ => ManagementCommands.Catalog(parsed, bootstrap, store, BuiltInHandlers(), output, error),
            };
            // The one recording point of the CLI: every command that changed something.
            return exit == 0 && AuditCommand.ActionOf(parsed) is (var action, true) ? AuditCommand.Record(parsed, store, action, error) : exit;
        }
        catch (UsageException ex)
        {
            error.WriteLine($"switchboard: {ex.Message}");
            error.WriteLine(Usage);
            return 2;
        }
        catch (ArgumentException ex)
        {
            error.WriteLine($"switchboard: {ex.Message}");
            return 1;
        }
        catch (DbException ex)
        {
            error.WriteLine($"switchboard: the store failed: {ex.Message}");
            return 1;
        }
    }

    private static HandlerRegistry BuiltInHandlers()
    {
        var services = new ServiceCollection();
        services.AddHandlers();
        return services.BuildServiceProvider().GetRequiredService<HandlerRegistry>();
    }
}
