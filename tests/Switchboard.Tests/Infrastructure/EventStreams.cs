using System.Net.Http.Headers;
using System.Net.ServerSentEvents;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Reads an event stream (<c>/svc/request/{id}/events</c>) as a client does, parsed by .NET's
/// own <see cref="SseParser"/> (not by code of ours), until the server closes it.
/// </summary>
public static class EventStreams
{
    public sealed record Answer(HttpStatusCode Status, string? ContentType, List<SseItem<string>> Events, HttpResponseMessage Response);

    /// <summary>Every event until the server ends the stream; fails after <paramref name="timeout"/> (20 s by default).</summary>
    public static async Task<Answer> ReadAll(HttpClient client, string url, string? lastEventId = null, TimeSpan? timeout = null,
        Action<SseItem<string>>? onEvent = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var message = new HttpRequestMessage(HttpMethod.Get, url);
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            message.Headers.Add("Last-Event-ID", lastEventId);
        }
        var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        var events = new List<SseItem<string>>();
        var type = response.Content.Headers.ContentType?.MediaType;
        if (response.StatusCode == HttpStatusCode.OK && type == "text/event-stream")
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancel.Token);
            await foreach (var item in SseParser.Create(body).EnumerateAsync(cancel.Token))
            {
                events.Add(item);
                onEvent?.Invoke(item);
            }
        }
        return new Answer(response.StatusCode, type, events, response);
    }

    public static IEnumerable<string> Types(this Answer answer) => answer.Events.Select(e => e.EventType);

    public static IEnumerable<SseItem<string>> OfType(this Answer answer, string type) => answer.Events.Where(e => e.EventType == type);
}
