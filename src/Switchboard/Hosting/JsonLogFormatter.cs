using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

using Switchboard.Config;

namespace Switchboard.Hosting;

public sealed class JsonLogFormatterOptions : JsonConsoleFormatterOptions
{
    /// <summary>serve, api, executor or recon: written on every line.</summary>
    public string Role { get; set; } = "";
}

/// <summary>
/// The built-in JSON console formatter's line (Timestamp, EventId, LogLevel, Category, Message,
/// Exception, State with the template as <c>{OriginalFormat}</c>, Scopes) with two fields more:
/// <c>Role</c> on every line, <c>TraceId</c> and <c>SpanId</c> inside a recorded span, and <c>RequestId</c> whenever the message's properties or a scope
/// name a request (<c>RequestId</c> or <c>request_id</c>), so one request can be followed across
/// processes with a single field. The built-in formatter cannot add fields, hence this copy:
/// with it, <c>Role</c> and the request id could only travel as scopes, inside the
/// <c>Scopes</c> array (the request id as one of several <c>RequestId</c>s, ASP.NET Core's
/// connection id being another), and every reader (deploy/fluentd.conf, grep, the tests) would
/// have to search an array instead of reading one top-level field.
/// </summary>
public sealed class JsonLogFormatter : ConsoleFormatter, IDisposable
{
    public const string FormatterName = "switchboard-json";

    private readonly IDisposable? _reload;
    private JsonLogFormatterOptions _options;

    public JsonLogFormatter(IOptionsMonitor<JsonLogFormatterOptions> options) : base(FormatterName)
    {
        _options = options.CurrentValue;
        _reload = options.OnChange(o => _options = o);
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }
        var options = _options;
        var buffer = new ArrayBufferWriter<byte>(1024);
        var writerOptions = options.JsonWriterOptions;
        // Log lines are never embedded in HTML: escape only what JSON needs, so "+" stays "+".
        writerOptions.Encoder ??= JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        using (var writer = new Utf8JsonWriter(buffer, writerOptions))
        {
            writer.WriteStartObject();
            var now = options.UseUtcTimestamp ? DateTime.UtcNow : DateTime.Now;
            writer.WriteString("Timestamp", now.ToString(options.TimestampFormat ?? "O", CultureInfo.InvariantCulture));
            writer.WriteNumber("EventId", logEntry.EventId.Id);
            writer.WriteString("LogLevel", logEntry.LogLevel.ToString());
            writer.WriteString("Category", logEntry.Category);
            writer.WriteString("Role", options.Role);
            if (RequestIdOf(logEntry.State, options.IncludeScopes ? scopeProvider : null) is { } requestId)
            {
                writer.WriteString("RequestId", requestId);
            }
            // Inside a recorded span (tracing on, Observability/Tracing.cs): the ids that find
            // this line's trace, and from a trace its lines. Off, one field read.
            if (Observability.Tracing.Enabled && System.Diagnostics.Activity.Current is { Recorded: true } span)
            {
                writer.WriteString("TraceId", span.TraceId.ToHexString());
                writer.WriteString("SpanId", span.SpanId.ToHexString());
            }
            writer.WriteString("Message", message);
            if (logEntry.Exception is not null)
            {
                writer.WriteString("Exception", logEntry.Exception.ToString());
            }
            if (logEntry.State is IReadOnlyCollection<KeyValuePair<string, object?>> properties)
            {
                writer.WriteStartObject("State");
                writer.WriteString("Message", logEntry.State.ToString());
                foreach (var (key, value) in properties)
                {
                    WriteValue(writer, key, value);
                }
                writer.WriteEndObject();
            }
            if (options.IncludeScopes && scopeProvider is not null)
            {
                writer.WriteStartArray("Scopes");
                scopeProvider.ForEachScope(static (scope, w) => WriteScope(w, scope), writer);
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        textWriter.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write(Environment.NewLine);
    }

    /// <summary>
    /// The request this line is about: the message's own <c>RequestId</c> property first, else
    /// the innermost scope's <c>request_id</c> (not a scope's <c>RequestId</c>: ASP.NET Core's
    /// request scope uses that name for its connection trace id).
    /// </summary>
    private static string? RequestIdOf<TState>(TState state, IExternalScopeProvider? scopes)
    {
        var found = Find(state, "RequestId");
        if (found is null && scopes is not null)
        {
            // ForEachScope goes outermost first: the last match is the innermost.
            var box = new string?[1];
            scopes.ForEachScope(static (scope, b) => b[0] = Find(scope, "request_id") ?? b[0], box);
            found = box[0];
        }
        return found;

        static string? Find(object? properties, string name)
        {
            if (properties is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    if (key == name && value is string id && id.Length > 0)
                    {
                        return id;
                    }
                }
            }
            return null;
        }
    }

    private static void WriteScope(Utf8JsonWriter writer, object? scope)
    {
        if (scope is IEnumerable<KeyValuePair<string, object?>> properties)
        {
            writer.WriteStartObject();
            // A plain dictionary's ToString is its type name: no message worth writing.
            if (scope.ToString() is { } text && text != scope.GetType().ToString())
            {
                writer.WriteString("Message", text);
            }
            foreach (var (key, value) in properties)
            {
                WriteValue(writer, key, value);
            }
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteStringValue(scope?.ToString());
        }
    }

    private static void WriteValue(Utf8JsonWriter writer, string key, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNull(key);
                break;
            case string s:
                writer.WriteString(key, s);
                break;
            case bool b:
                writer.WriteBoolean(key, b);
                break;
            case int or long or short or byte or sbyte or uint or ushort:
                writer.WriteNumber(key, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u:
                writer.WriteNumber(key, u);
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumber(key, d);
                break;
            case float f when float.IsFinite(f):
                writer.WriteNumber(key, f);
                break;
            case decimal m:
                writer.WriteNumber(key, m);
                break;
            case DateTimeOffset or DateTime or TimeSpan:
                writer.WriteString(key, ((IFormattable)value).ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                writer.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    public void Dispose() => _reload?.Dispose();
}
