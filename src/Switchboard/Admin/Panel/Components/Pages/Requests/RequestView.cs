using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Lifecycle;
using Switchboard.Requests;

namespace Switchboard.Admin.Panel.Components.Pages.Requests;

/// <summary>One step of a deal as its request page lists it.</summary>
public sealed record StepView(string Step, string Offer, string Pipeline, string Status, string Price, string Attempts, string? ErrorCode, string? ErrorMessage);

/// <summary>
/// A request as its page shows it, read from <see cref="RequestAdmin.Detail"/>: the shown status
/// (a deal's as the client sees it), its target with a deal's add-ons, the inputs and results as
/// indented JSON, a deal's steps.
/// </summary>
public sealed class RequestView(RequestDetail detail)
{
    // Razor encodes every value when written; escaping '<' as \u003C in the JSON as well would only make it unreadable.
    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public RequestDetail Detail => detail;
    public RequestRecord Request => detail.Request;
    public bool IsDeal => Request.Kind == "deal";
    public string Path => RequestLinks.PathOf(Request.Id);
    public string Status => detail.Json["status"]!.GetValue<string>();
    public string Target => IsDeal ? Request.Action : $"{Request.Service}/{Request.Action}";

    /// <summary>A deal's chosen add-ons, "" when none.</summary>
    public string Addons => IsDeal && detail.Json["addons"] is JsonArray { Count: > 0 } list ? "+ " + string.Join(", ", list.Select(a => a!.GetValue<string>())) : "";

    /// <summary>A deal's start is its first step's, as the client's view says it.</summary>
    public long? StartedAt => IsDeal ? ParseMs(detail.Json["started_at"]) : Request.StartedAt;

    public string Inputs => PrettyJson(Request.Inputs);
    public string Results => Request.Results is null ? "none yet" : PrettyJson(Request.Results);
    public bool CanRetry => Request.Status == RequestStatus.Failed;
    public bool CanCancel => Request.Status is RequestStatus.Queued or RequestStatus.Running;

    /// <summary>A deal's steps; null for an offer's request.</summary>
    public IReadOnlyList<StepView>? Steps => detail.Json["steps"] is JsonArray steps
        ? [.. steps.OfType<JsonObject>().Select(s => new StepView(
            Text(s["step"]), Text(s["offer"]), Text(s["pipeline"]), s["status"]!.GetValue<string>(), Text(s["price"]), Text(s["attempts"]),
            s["error"] is JsonObject e ? Text(e["code"]) : null, s["error"] is JsonObject m ? Text(m["message"]) : null))]
        : null;

    public static string Amount(long amount) => amount.ToString("+#,0;-#,0;0", CultureInfo.InvariantCulture);

    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static long? ParseMs(JsonNode? iso) =>
        iso is JsonValue v && DateTimeOffset.TryParse(v.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUnixTimeMilliseconds()
            : null;

    private static string PrettyJson(string json)
    {
        try
        {
            return JsonNode.Parse(json)?.ToJsonString(Pretty) ?? "null";
        }
        catch (JsonException)
        {
            return json;
        }
    }
}
