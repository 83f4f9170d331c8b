using Microsoft.Extensions.Logging.Console;

using Switchboard.Config;

namespace Switchboard.Hosting;

/// <summary>
/// How every server role writes its logs on stdout: readable single lines when stdout is a
/// terminal (a person reads them), one JSON object per line when it is not (a container
/// runtime, Fluentd, a file: the shape of the built-in JSON console formatter plus <c>Role</c>
/// and <c>RequestId</c>, see <see cref="JsonLogFormatter"/>). <c>--log-format json|text</c>
/// (<c>Switchboard:LogFormat</c>) chooses either way. The management commands build no host and
/// log nothing, so their stdout stays their JSON result.
/// </summary>
public static class Logs
{
    public const string Json = "json";
    public const string Text = "text";

    /// <summary>Without a choice: text for a terminal, JSON lines for anything else (what shippers parse).</summary>
    public static string DefaultFormat => Console.IsOutputRedirected ? Json : Text;

    public static ILoggingBuilder AddSwitchboardLogs(this ILoggingBuilder logging, IConfiguration configuration, Role role)
    {
        var format = (configuration["Switchboard:LogFormat"] ?? configuration["log-format"] ?? DefaultFormat).Trim().ToLowerInvariant();
        // Every line through LogRedaction: a stream_url's token never reaches stdout.
        logging.AddConsole().RedactConsole();
        switch (format)
        {
            case Json:
                logging.AddConsoleFormatter<JsonLogFormatter, JsonLogFormatterOptions>(o =>
                {
                    o.Role = role.ToString().ToLowerInvariant();
                    // Forced, not defaults: a log shipper parses these fields.
                    o.IncludeScopes = true;
                    o.UseUtcTimestamp = true;
                    o.TimestampFormat = "O";
                });
                // After the host's binding of Logging:Console, so a FormatterName there cannot
                // switch a server back to the formatter without Role.
                logging.Services.Configure<ConsoleLoggerOptions>(o => o.FormatterName = JsonLogFormatter.FormatterName);
                break;
            case Text:
                logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.IncludeScopes = true;
                    o.UseUtcTimestamp = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                });
                logging.Services.Configure<ConsoleLoggerOptions>(o => o.FormatterName = ConsoleFormatterNames.Simple);
                break;
            default:
                throw new Config.BootstrapException($"Switchboard:LogFormat (--log-format) is '{format}'; it must be json or text");
        }
        return logging;
    }
}
