using System.CommandLine;
using Switchboard.Config;
using Switchboard.Hosting;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>serve</c>, <c>api</c>, <c>executor</c> and <c>recon</c>: the server roles. Their own
/// options are declared here for help and checking; the host reads them, and any
/// <c>--Section:Key=value</c> override (<see cref="ConfigOverrides"/>), from the arguments as
/// given, through its command-line configuration provider (<see cref="ServeHost.Switches"/>).
/// </summary>
public sealed class ServerCommand : Command
{
    private const string Overrides = "; takes any --Section:Key=value configuration override";

    private static readonly Dictionary<Role, string> Descriptions = new()
    {
        [Role.Serve] = "Runs a server: the HTTP API, the executor and recon in one process" + Overrides,
        [Role.Api] = "Runs the HTTP API alone (needs --config with redis.uri)" + Overrides,
        [Role.Executor] = "Runs jobs from the shared queue (needs --config with redis.uri)" + Overrides,
        [Role.Recon] = "Runs repairs and expiry; one active, the others stand by (needs --config with redis.uri)" + Overrides,
    };

    public ServerCommand(Role role, CliContext context)
        : base(role.ToString().ToLowerInvariant(), Descriptions[role])
    {
        if (role is Role.Serve or Role.Api)
        {
            Add(Shared.LastWins("--urls", "URL", $"Where the HTTP API listens (default {SwitchboardOptions.DefaultUrl}); several separated by ;"));
            // Not an option: said so with the one that is, instead of a bare "unrecognized".
            Add(new Option<string>("--port", "-p")
            {
                Hidden = true,
                Validators = { r => r.AddError($"{Name} has no --port: give the address, e.g. --urls http://127.0.0.1:{r.Tokens.FirstOrDefault()?.Value ?? "9000"}") },
            });
        }
        if (role is Role.Serve or Role.Executor)
        {
            var workers = Shared.LastWins("--workers", "N", "Jobs run at once by this process");
            workers.Validators.Add(r =>
            {
                if (!int.TryParse(r.GetValueOrDefault<string>(), out _))
                {
                    r.AddError($"--workers must be a whole number, not '{r.GetValueOrDefault<string>()}'");
                }
            });
            Add(workers);
            var handlers = Shared.LastWins("--handlers", "PATTERNS",
                "Runs only these handlers' jobs: ids and module.*, comma-separated (e.g. 'openai.*,anthropic.messages'); default: all");
            handlers.Validators.Add(r =>
            {
                if (!Queue.HandlerPatterns.TryParse(r.GetValueOrDefault<string>(), out _, out var error))
                {
                    r.AddError(error!);
                }
            });
            Add(handlers);
        }
        Add(Shared.Config());
        Add(Shared.Data());
        Add(Shared.LastWins("--metrics-urls", "URL", "A metrics-only listener: Prometheus metrics at URL/metrics (e.g. http://127.0.0.1:9101)"));
        Add(Shared.LastWins("--log-format", "FORMAT", "Log lines on stdout: text (readable) or json (one object a line). Default: text on a terminal, json otherwise")
            .AcceptOnlyFromAmong(Logs.Text, Logs.Json));
        SetAction(async (_, _) =>
        {
            var args = context.ServerArgs.ToArray();
            if (role is Role.Serve or Role.Api)
            {
                await ServeHost.Build(args, role, holdDataFolder: true).RunAsync();
            }
            else
            {
                await ServeHost.BuildWorker(args, role, holdDataFolder: true).RunAsync();
            }
            return CommandLine.Ok;
        });
    }
}
