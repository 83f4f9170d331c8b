using Switchboard.Lifecycle;

namespace Switchboard.Execution;

/// <summary>
/// After a cancel commits, a job of the cancelled request running in this process is stopped at
/// once instead of at its next heartbeat (the heartbeat would find its claim gone and stop it).
/// An observer of the lifecycle, so the API's cancel need not know the executor.
/// </summary>
public sealed class CancelledJobStopper(InFlightJobs inFlight) : ITransitionObserver
{
    public string? Kind => null;

    public string? State => RequestStatus.Cancelled;

    public void Committed(in Transition transition) => inFlight.Cancel(transition.RequestId);
}
