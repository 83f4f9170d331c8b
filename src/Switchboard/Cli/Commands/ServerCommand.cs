using System.CommandLine;
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
            Add(new Option<string>("--urls") { Description = $"Where the HTTP API listens (default {ServeHost.DefaultUrl}); several separated by ;", HelpName = "URL" });
            // Not an option: said so with the one that is, instead of a bare "unrecognized".
            Add(new Option<string>("--port", "-p")
            {
                Hidden = true,
                Validators = { r => r.AddError($"{Name} has no --port: give the address, e.g. --urls http://127.0.0.1:{r.Tokens.FirstOrDefault()?.Value ?? "9000"}") },
            });
        }
        if (role is Role.Serve or Role.Executor)
        {
            Add(new Option<int>("--workers") { Description = "Jobs run at once by this process", HelpName = "N" });
        }
        Add(new Option<string>("--config") { Description = "The bootstrap config (store and queue). Without it, the embedded store in --data", HelpName = "FILE" });
        Add(new Option<string>("--data") { Description = "The embedded store's folder (used without --config)", HelpName = "DIR", DefaultValueFactory = _ => "./data" });
        Add(new Option<string>("--metrics-urls") { Description = "A metrics-only listener: Prometheus metrics at URL/metrics (e.g. http://127.0.0.1:9101)", HelpName = "URL" });
        Add(new Option<string>("--log-format")
        {
            Description = "Log lines on stdout: text (readable) or json (one object a line). Default: text on a terminal, json otherwise",
            HelpName = "FORMAT",
        }.AcceptOnlyFromAmong(Logs.Text, Logs.Json));
        SetAction(async (_, _) =>
        {
            var args = context.ServerArgs.ToArray();
            if (role is Role.Serve or Role.Api)
            {
                await ServeHost.Build(args, role).RunAsync();
            }
            else
            {
                await ServeHost.BuildWorker(args, role).RunAsync();
            }
            return CommandLine.Ok;
        });
    }
}
