using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Console;

namespace Switchboard.Hosting;

/// <summary>
/// Keeps capability tokens out of the logs. An event stream's <c>stream_url</c> carries its
/// token in the query (<c>?token=</c>: a browser's <c>EventSource</c> cannot send a header),
/// and ASP.NET Core logs query strings: the hosting diagnostics' "Request starting" line when
/// settings lower <c>Microsoft.AspNetCore</c> to Information, and any line a later change
/// writes with a URL. So the console logger, whatever its format, gets every line through
/// <see cref="RedactingLogger"/>: a message or a state value with <c>token=</c> has the value
/// replaced by <see cref="Mask"/>, before any formatter sees it. Lines without one pass
/// untouched (one substring search per string value).
/// </summary>
public static partial class LogRedaction
{
    public const string Mask = "[redacted]";

    [GeneratedRegex("(?<=(?:^|[?&\\s\"'])token=)[^&\\s\"'#]+", RegexOptions.CultureInvariant)]
    private static partial Regex TokenValue();

    /// <summary><paramref name="text"/> with every <c>token=</c> value masked.</summary>
    public static string Redact(string text) =>
        text.Contains("token=", StringComparison.Ordinal) ? TokenValue().Replace(text, Mask) : text;

    /// <summary>Wraps the console logger provider already registered in <paramref name="logging"/>.</summary>
    public static ILoggingBuilder RedactConsole(this ILoggingBuilder logging)
    {
        var services = logging.Services;
        var console = services.Single(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider));
        services.Remove(console);
        services.AddSingleton<ILoggerProvider>(sp => new RedactingLoggerProvider(ActivatorUtilities.CreateInstance<ConsoleLoggerProvider>(sp)));
        return logging;
    }
}

/// <summary>The console provider behind <see cref="LogRedaction"/>; <c>Logging:Console</c> settings still apply (same alias).</summary>
[ProviderAlias("Console")]
public sealed class RedactingLoggerProvider(ILoggerProvider inner) : ILoggerProvider, ISupportExternalScope
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => (inner as ISupportExternalScope)?.SetScopeProvider(scopeProvider);

    public void Dispose() => inner.Dispose();
}

public sealed class RedactingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (state is IReadOnlyList<KeyValuePair<string, object?>> properties && HasToken(properties))
        {
            var redacted = new RedactedState(
                [.. properties.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value is string s ? LogRedaction.Redact(s) : p.Value))],
                LogRedaction.Redact(state.ToString() ?? ""));
            inner.Log(logLevel, eventId, redacted, exception, (_, e) => LogRedaction.Redact(formatter(state, e)));
            return;
        }
        inner.Log(logLevel, eventId, state, exception, (s, e) => LogRedaction.Redact(formatter(s, e)));
    }

    private static bool HasToken(IReadOnlyList<KeyValuePair<string, object?>> properties)
    {
        foreach (var (_, value) in properties)
        {
            if (value is string s && s.Contains("token=", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A line's properties with their values masked; its text is the masked message.</summary>
    private sealed class RedactedState(IReadOnlyList<KeyValuePair<string, object?>> properties, string text)
        : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public KeyValuePair<string, object?> this[int index] => properties[index];

        public int Count => properties.Count;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => properties.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => text;
    }
}
