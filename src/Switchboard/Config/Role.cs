namespace Switchboard.Config;

/// <summary>The server commands: which roles a process runs.</summary>
public enum Role
{
    /// <summary>api + executor + recon in one process.</summary>
    Serve,
    Api,
    Executor,
    Recon,
}
