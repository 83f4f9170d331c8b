namespace Switchboard.Recon;

/// <summary>
/// Whether this process is the active recon. Only one recon repairs at a time: in the
/// distributed deployment the others stand by and take over when the leader's lease lapses.
/// </summary>
public interface IReconLeadership
{
    bool IsLeader { get; }
}

/// <summary>The embedded default: the one process is the leader.</summary>
public sealed class SoleLeader : IReconLeadership
{
    public bool IsLeader => true;
}
