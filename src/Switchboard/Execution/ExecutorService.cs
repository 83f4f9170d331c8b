using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Queue;

namespace Switchboard.Execution;

/// <summary>
/// The worker pool: <c>Workers</c> async loops taking messages from the queue. On stop, the
/// loops take nothing new; running jobs get <c>ShutdownGrace</c> to finish, then are cancelled
/// and released back to the store (queued again, attempt not counted).
/// </summary>
/// <param name="served">Built here so that a bad <c>--handlers</c> stops the start, naming the pattern.</param>
public sealed class ExecutorService(IJobQueue queue, JobRunner runner, ServedHandlers served, IOptions<SwitchboardOptions> options, ILogger<ExecutorService> logger)
    : BackgroundService
{
    private readonly CancellationTokenSource _abortJobs = new();

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = options.Value.Workers;
        logger.LogInformation("Executor started with {Workers} workers, serving handlers {Handlers} ({Patterns})",
            workers, string.Join(", ", served.Ids), served.Patterns.IsAll ? "all" : "--handlers " + served.Patterns);
        return Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkerLoop(stoppingToken), CancellationToken.None)));
    }

    private async Task WorkerLoop(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            JobDelivery delivery;
            try
            {
                delivery = await queue.ReadAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (System.Threading.Channels.ChannelClosedException)
            {
                return;
            }
            try
            {
                await runner.RunAsync(delivery, _abortJobs.Token);
            }
            catch (Exception ex)
            {
                // The store is the source of truth: whatever this job's state, recon repairs it
                // (an expired lease is requeued). The worker itself must keep going.
                logger.LogError(ex, "Job {RequestId} could not be processed", delivery.Message.RequestId);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            _abortJobs.CancelAfter(options.Value.ShutdownGrace);
        }
        catch (ObjectDisposedException)
        {
            // A host may stop a service again after disposing it: there is nothing left to abort.
            return;
        }
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _abortJobs.Dispose();
        base.Dispose();
    }
}
