using System.Threading.Channels;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Storage;

namespace Switchboard.Resources;

/// <summary>
/// After a cancel commits, the request's job leaves its resource's lane at once
/// (<see cref="IResourceGate.RemoveAsync"/>), so it neither takes its user's next turn nor counts
/// ahead of anyone in <c>queue_position</c>. An observer of the lifecycle (any process that
/// cancels: the API, the panel, recon), the removal done in the background: the transition's
/// commit never waits for the gate. When the backlog here is full or the gate cannot be reached,
/// the job leaves at its turn instead and gives its reservation back
/// (<see cref="ResourceSlots.ForgetReservationAsync"/>), as before.
/// </summary>
public sealed class CancelledLaneLeaver(IResourceGate gate, ResourceNeeds needs, Store store, ILogger<CancelledLaneLeaver> logger)
    : BackgroundService, ITransitionObserver
{
    private readonly Channel<(string Id, int Run)> _cancelled = Channel.CreateBounded<(string, int)>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public string? Kind => null;

    public string? State => RequestStatus.Cancelled;

    public void Committed(in Transition transition)
    {
        if (needs.All.Count > 0)
        {
            _cancelled.Writer.TryWrite((transition.RequestId, transition.Run));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (id, run) in _cancelled.Reader.ReadAllAsync(stoppingToken))
            {
                await LeaveAsync(id, run);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task LeaveAsync(string id, int run)
    {
        try
        {
            string? handler;
            using (var connection = store.Open())
            {
                handler = connection.Scalar<string>("SELECT handler FROM requests WHERE id = @id AND run = @run", ("@id", id), ("@run", run));
            }
            if (handler is not null && needs.For(handler) is { } need && await gate.RemoveAsync(need, new JobMessage(id, run, handler)))
            {
                logger.LogDebug("Cancelled {RequestId} left the lane of {Resource}", id, need.Name);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogDebug("Cancelled {RequestId} stays in its lane until its turn ({Error})", id, ex.Message);
        }
    }
}
