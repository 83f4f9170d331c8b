using System.Data.Common;
using System.Net.ServerSentEvents;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Lifecycle;

namespace Switchboard.Requests;

/// <summary>
/// The event stream's events, derived from the stored row alone, so that any process can tell
/// from a <c>Last-Event-ID</c> what the client has seen and send exactly the rest. The store
/// keeps a request's current state, not its history: a <c>status</c> event is the row as it
/// stands (one per distinct state the stream observes), a <c>progress</c> event its stored
/// <c>progress</c>, then <c>result</c> and <c>end</c> once it has finished. An event id is
/// <c>{state}.{progress}.{phase}</c>: a hash of the request object without its progress and
/// <c>updated_at</c> (so a progress write is not a new status), a hash of the progress object
/// (<c>0</c> before any), and <c>s</c>/<c>p</c>/<c>r</c>/<c>e</c>. Clients treat it as opaque.
/// </summary>
public static class StreamEvents
{
    public const string Status = "status";
    public const string Progress = "progress";
    public const string Partial = "partial";
    public const string Result = "result";
    public const string End = "end";

    /// <summary>What the client asks to wait before it reconnects (the browser's default is about 3 s).</summary>
    public static readonly TimeSpan Retry = TimeSpan.FromSeconds(2);

    private static readonly HashSet<string> Finished =
        [RequestStatus.Succeeded, RequestStatus.Failed, RequestStatus.Cancelled, RequestStatus.Expired];

    /// <summary>The request as the stream shows it: the object GET shows (without the queue estimate, which moves on its own).</summary>
    public sealed record Snapshot(string Status, JsonObject Json)
    {
        public bool IsFinished => Finished.Contains(Status);

        public JsonNode? ProgressNode => Json["progress"] is JsonObject progress ? progress : null;

        /// <summary>The state's key: the object without what progress writes change.</summary>
        public string StateKey
        {
            get
            {
                var copy = (JsonObject)Json.DeepClone();
                Strip(copy);
                if (copy["steps"] is JsonArray steps)
                {
                    foreach (var step in steps.OfType<JsonObject>())
                    {
                        Strip(step);
                    }
                }
                return Hash(copy.ToJsonString());

                static void Strip(JsonObject o)
                {
                    o.Remove("progress");
                    o.Remove("updated_at");
                }
            }
        }

        public string ProgressKey => ProgressNode is { } p ? Hash(p.ToJsonString()) : "0";
    }

    /// <summary>What the client has seen: the last event id it got (or sent back as <c>Last-Event-ID</c>).</summary>
    public readonly record struct Cursor(string State, string Progress, char Phase)
    {
        public override string ToString() => $"{State}.{Progress}.{Phase}";

        /// <summary>A cursor from a client's <c>Last-Event-ID</c>; null when absent or not one of ours (the stream then starts over).</summary>
        public static Cursor? Parse(string? id)
        {
            var parts = id?.Split('.');
            return parts is [{ Length: 16 } state, { Length: 16 or 1 } progress, [var phase]] && phase is 's' or 'p' or 'r' or 'e'
                && IsHex(state) && IsHex(progress)
                ? new Cursor(state, progress, phase)
                : null;

            static bool IsHex(string s) => s.All(char.IsAsciiHexDigitLower);
        }
    }

    /// <summary>The caller's request as the stream shows it, or null when this user has no such request.</summary>
    public static Snapshot? Read(DbConnection connection, string id, string userId)
    {
        if (RequestEndpoints.LoadOwn(connection, id, userId) is not { } request)
        {
            return null;
        }
        var json = request.Kind == RequestKind.Deal ? Deals.DealView.ToJson(connection, request) : request.ToJson();
        return new Snapshot(request.Status, json);
    }

    /// <summary>
    /// The events a client that saw up to <paramref name="seen"/> (null: nothing) has not seen of
    /// <paramref name="now"/>, in order, and the cursor after them (unchanged when there are none).
    /// </summary>
    public static (List<SseItem<string>> Events, Cursor? Seen) After(Snapshot now, Cursor? seen)
    {
        var events = new List<SseItem<string>>();
        var state = now.StateKey;
        var progress = now.ProgressKey;
        var phase = seen is { } s && s.State == state ? s.Phase : '\0';
        var seenProgress = phase == '\0' ? "0" : seen!.Value.Progress;
        if (phase == '\0')
        {
            events.Add(Item(Status, now.Json.ToJsonString(), new Cursor(state, "0", 's')));
            phase = 's';
        }
        if (!now.IsFinished)
        {
            if (now.ProgressNode is { } p && progress != seenProgress)
            {
                events.Add(Item(Progress, p.ToJsonString(), new Cursor(state, progress, 'p')));
                seenProgress = progress;
            }
            return (events, events.Count == 0 ? seen : new Cursor(state, seenProgress, events[^1].EventId![^1]));
        }
        if (phase is not ('r' or 'e') && now.Status == RequestStatus.Succeeded)
        {
            events.Add(Item(Result, (now.Json["results"] ?? new JsonArray()).ToJsonString(), new Cursor(state, "0", 'r')));
        }
        if (phase is not 'e')
        {
            events.Add(Item(End, now.Status, new Cursor(state, "0", 'e')));
        }
        return (events, events.Count == 0 ? seen : new Cursor(state, "0", 'e'));
    }

    /// <summary>A piece of streamed output: no id (best-effort, never replayed; the result carries the whole output).</summary>
    public static SseItem<string> PartialItem(string text) => new(text, Partial);

    private static SseItem<string> Item(string type, string data, Cursor id) => new(data, type) { EventId = id.ToString() };

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 8));
}
