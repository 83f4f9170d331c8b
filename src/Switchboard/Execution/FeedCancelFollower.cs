using System.Data.Common;
using Switchboard.Lifecycle;
using Switchboard.Live;

namespace Switchboard.Execution;

/// <summary>
/// A cancel committed by another process (the API's DELETE, a deal's cancel, recon) stops the job
/// running here at once, instead of at its next heartbeat: the change feed brings every status
/// change of another process (<see cref="ChangeHub.Arrived"/>); one of a request running here
/// makes this read its row, and a row no longer held by this job's claim (cancelled, or taken
/// over) stops the handler (<see cref="InFlightJobs.Cancel"/>). A change of a request not running
/// here costs a dictionary lookup, no store read. The process's own cancels are
/// <see cref="CancelledJobStopper"/>'s; the heartbeat (<see cref="LeaseRenewer"/>) stays the
/// backstop when the feed loses a change.
/// </summary>
public sealed class FeedCancelFollower(ChangeHub hub, InFlightJobs inFlight, Store store, ExecutorIdentity identity, ILogger<FeedCancelFollower> logger)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        hub.Arrived += OnArrived;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        hub.Arrived -= OnArrived;
        return Task.CompletedTask;
    }

    private void OnArrived(RequestChange change)
    {
        if (change.Kind == ChangeKind.Status && inFlight.TryGet(change.RequestId, out var job))
        {
            // Off the feed's receiving thread: the read must not delay the next message.
            _ = Task.Run(() => Check(job));
        }
    }

    private void Check(InFlightJob job)
    {
        try
        {
            using var connection = store.Open();
            using var command = connection.Sql(
                "SELECT 1 FROM requests WHERE id = @id AND run = @run AND attempts = @attempt AND owner = @owner AND status = @running",
                ("@id", job.RequestId), ("@run", job.Run), ("@attempt", job.Attempt), ("@owner", identity.Owner), ("@running", RequestStatus.Running));
            if (command.ExecuteScalar() is null)
            {
                logger.LogDebug("Stopping {RequestId} run {Run} attempt {Attempt}: its claim is gone (a change from another process)", job.RequestId, job.Run, job.Attempt);
                inFlight.Cancel(job.RequestId);
            }
        }
        catch (DbException ex)
        {
            // The heartbeat finds a lost claim too, a little later.
            logger.LogDebug(ex, "Could not read {RequestId} after a change from another process", job.RequestId);
        }
    }
}
