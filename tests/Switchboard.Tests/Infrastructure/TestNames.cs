namespace Switchboard.Tests.Infrastructure;

public static class TestNames
{
    /// <summary>
    /// A unique suffix for a name a test makes up (an environment variable, say), 12 hex digits:
    /// such names can become metric labels (the credential_missing alert's subject) in the
    /// process-wide Prometheus registry, where MetricsTests takes any 32-hex string for a leaked
    /// request id.
    /// </summary>
    public static string Short() => Guid.NewGuid().ToString("N")[..12];
}
