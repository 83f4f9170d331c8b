using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
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
          users create NAME [--admin] [--credits N] [--password P]
          users list
          keys create NAME | keys revoke KEY_PREFIX
          credits grant NAME N [--note TEXT] | credits show NAME
          catalog apply FILE.yaml | catalog export

        Management commands work on the store in --data DIR (default ./data).
        """;

    private static readonly HashSet<string> Flags = ["admin", "help"];

    /// <summary>The command named by the arguments; anything else (none, or only options) means serve.</summary>
    public static string CommandOf(string[] args) => args.FirstOrDefault(a => !a.StartsWith('-')) ?? "serve";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var command = CommandOf(args);
        if (command == "serve")
        {
            await ServeHost.Build([.. args.Where(a => a != "serve")]).RunAsync();
            return 0;
        }
        try
        {
            var parsed = new Args(args, Flags);
            if (command is "help" or "--help" || parsed.Has("help"))
            {
                output.WriteLine(Usage);
                return 0;
            }
            var database = new Database(parsed.Option("data") ?? "./data");
            Migrations.Apply(database);
            return command switch
            {
                "users" => ManagementCommands.Users(parsed, database, output),
                "keys" => ManagementCommands.Keys(parsed, database, output, error),
                "credits" => ManagementCommands.Credits(parsed, database, output, error),
                "catalog" => ManagementCommands.Catalog(parsed, database, BuiltInHandlers(), output, error),
                _ => throw new UsageException($"unknown command '{command}'"),
            };
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
        catch (SqliteException ex)
        {
            error.WriteLine($"switchboard: the store failed: {ex.SqliteErrorCode} {ex.Message}");
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
