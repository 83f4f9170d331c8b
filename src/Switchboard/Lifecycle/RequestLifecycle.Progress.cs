namespace Switchboard.Lifecycle;

/// <summary>The running attempt's progress: not a change of status, so it does not pass the change point.</summary>
public sealed partial class RequestLifecycle
{
    /// <summary>
    /// Stores <paramref name="progressJson"/> as the row's <c>progress</c>, conditional on the
    /// claim like every executor write (request, run, attempt, owner, running): a stale attempt's
    /// report changes nothing and gets false. <c>updated_at</c> is left alone: the progress says
    /// when it was reported itself, and a row's update time stays the time of its last status.
    /// </summary>
    public Task<bool> ReportProgressAsync(ClaimedJob job, string owner, string progressJson) =>
        _store.WriteStatementAsync(c => c.Execute(
            $"UPDATE requests SET progress = @progress WHERE {Mine}",
            ("@progress", progressJson), ("@id", job.RequestId), ("@run", job.Run), ("@attempt", job.Attempt), ("@owner", owner),
            ("@running", RequestStatus.Running)) == 1);
}
