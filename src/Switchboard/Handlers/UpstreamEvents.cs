using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;

namespace Switchboard.Handlers;

/// <summary>
/// Reads an upstream's streamed answer (Server-Sent Events, as OpenAI and Anthropic stream tokens)
/// with .NET's <see cref="SseParser"/>, bounded like every upstream answer: at most
/// <see cref="HandlerContext.MaxUpstreamBytes"/> in all, and at most <see cref="MaxLineBytes"/> in
/// one line (the parser holds a line until its end). Over either the read fails as
/// <c>upstream_too_large</c> (permanent, as for a whole answer); a connection cut mid-stream is
/// the transport's <c>upstream_unreachable</c> (transient): <see cref="TransportErrors"/>.
/// </summary>
public static class UpstreamEvents
{
    /// <summary>The longest line of a streamed answer (one token event is a few hundred bytes).</summary>
    public const int MaxLineBytes = 1024 * 1024;

    /// <summary>
    /// Whether <paramref name="response"/> is a successful event stream. A server that ignores
    /// <c>stream: true</c> answers a whole JSON body, which is read as without streaming; an
    /// error status is never a stream.
    /// </summary>
    public static bool IsStream(HttpResponseMessage response) =>
        response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType == "text/event-stream";

    /// <summary>Send the request with <see cref="HttpCompletionOption.ResponseHeadersRead"/> (<see cref="UpstreamCall.SendAsync"/>) so nothing is buffered first.</summary>
    public static async IAsyncEnumerable<SseItem<string>> ReadAsync(
        HttpResponseMessage response, string profile, HandlerContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var maxBytes = context.MaxUpstreamBytes;
        if (response.Content.Headers.ContentLength > maxBytes)
        {
            throw TransportErrors.Classify(new UpstreamTooLargeException(maxBytes), profile, context.Logger)!;
        }
        var body = await Classified(() => response.Content.ReadAsStreamAsync(cancellationToken), profile, context);
        await using var capped = new CappedStream(body, maxBytes, Math.Min(maxBytes, MaxLineBytes));
        await using var items = SseParser.Create(capped).EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (await Classified(() => items.MoveNextAsync().AsTask(), profile, context))
        {
            yield return items.Current;
        }
    }

    private static async Task<T> Classified<T>(Func<Task<T>> read, string profile, HandlerContext context)
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (ex is not OperationCanceledException && TransportErrors.Classify(ex, profile, context.Logger) is { } classified)
        {
            throw classified;
        }
    }
}
