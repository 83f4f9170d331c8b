namespace Switchboard.Handlers;

/// <summary>One call of a handler that speaks HTTP itself (<c>openai.chat</c>, <c>anthropic.messages</c>, <c>http.json</c>).</summary>
public static class UpstreamCall
{
    /// <summary>
    /// Sends <paramref name="request"/> and returns the answer once its headers are in (the body is
    /// read bounded, with <see cref="UpstreamBody"/>). A refused address or an unreachable upstream
    /// becomes its shared <see cref="HandlerException"/> (<see cref="TransportErrors"/>), as for the SDK handlers.
    /// </summary>
    public static async Task<HttpResponseMessage> SendAsync(
        HttpClient client, HttpRequestMessage request, string profile, HandlerContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex) when (TransportErrors.Classify(ex, profile, context.Logger) is { } classified)
        {
            throw classified;
        }
    }

    /// <summary>A successful answer's JSON; an answer that is not JSON (a proxy's error page, a cut answer) is a transient <c>upstream_bad_response</c>.</summary>
    public static JsonNode? ParseAnswer(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            throw HandlerException.Retry("upstream_bad_response", "the upstream answered with something that is not JSON");
        }
    }
}
