namespace Switchboard.Hosting;

/// <summary>How every role writes its logs (to be filled: JSON lines on stdout).</summary>
public static class Logs
{
    public static ILoggingBuilder AddSwitchboardLogs(this ILoggingBuilder logging, IConfiguration configuration, Role role) => logging;
}
