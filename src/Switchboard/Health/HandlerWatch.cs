using Microsoft.Extensions.Options;
using Switchboard.Handlers;
using Switchboard.Storage;
using Switchboard.Catalog;
using Switchboard.Config;

namespace Switchboard.Health;

/// <summary>
/// Makes the handler checks run at start, after the configs and the catalog are loaded (one
/// warning per problem in the log), and again at every store poll, so a change of the catalog or
/// of <c>svc_handlers</c> is logged when it is loaded rather than at the next request.
/// </summary>
public sealed class HandlerWatch(IServiceProvider services, IOptions<SwitchboardOptions> options, ILogger<HandlerWatch> logger) : BackgroundService
{
    private readonly HandlerReadiness? _readiness = services.GetService<HandlerReadiness>();
    private readonly ExecutorCredentials? _credentials = services.GetService<ExecutorCredentials>();

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Check();
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PollLoop.RunAsync(options.Value.StorePollInterval, Check,
            ex => logger.LogWarning(ex, "Handler check failed; the last view stays"), stoppingToken);

    private void Check()
    {
        _ = _credentials?.Missing;
        _ = _readiness?.Problems;
    }
}
