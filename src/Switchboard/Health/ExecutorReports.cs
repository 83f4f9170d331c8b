using Switchboard.Execution;
using Switchboard.Recon;

namespace Switchboard.Health;

/// <summary>
/// What the executors report of their credentials, read from their heartbeats by an <c>api</c>
/// process (which cannot see an executor's environment): every
/// <see cref="ExecutorHeartbeat.DefaultInterval"/>, the live executors and the
/// variables that every one of them lacks (<see cref="MissingEverywhere"/>, which
/// <see cref="Catalog.HandlerReadiness"/> uses to keep those offers from being sold). A
/// variable that only some executors lack keeps the offers live (the others can run them) and
/// shows in <c>/readyz</c> and the <c>credential_missing</c> alert. When the registry cannot
/// be read the last view stays.
/// </summary>
public sealed class ExecutorReports(HealthProbe probe, ILogger<ExecutorReports> logger) : BackgroundService
{
    private static readonly IReadOnlySet<string> None = new HashSet<string>();

    private volatile IReadOnlySet<string> _missingEverywhere = None;

    /// <summary>The live executors at the last read; null before the first one succeeded.</summary>
    public IReadOnlyList<ExecutorInfo>? Executors { get; private set; }

    /// <summary>The variables every live executor lacks (none when no executor is live). The same instance until it changes.</summary>
    public IReadOnlySet<string> MissingEverywhere => _missingEverywhere;

    public async Task RefreshAsync()
    {
        if (await probe.ExecutorsAsync() is not { } executors)
        {
            return;
        }
        Executors = executors;
        var everywhere = executors.Count == 0
            ? []
            : executors.Select(e => (IEnumerable<string>)(e.MissingEnv ?? [])).Aggregate((a, b) => a.Intersect(b, StringComparer.Ordinal)).ToHashSet(StringComparer.Ordinal);
        if (!everywhere.SetEquals(_missingEverywhere))
        {
            _missingEverywhere = everywhere;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ExecutorHeartbeat.DefaultInterval);
        do
        {
            try
            {
                await RefreshAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning("Could not read the executors' heartbeats; the last view stays: {Error}", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
