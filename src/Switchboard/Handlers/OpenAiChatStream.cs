using System.Text;

namespace Switchboard.Handlers;

/// <summary>
/// One streamed chat completion of <c>openai.chat</c> (<c>params.stream: true</c>): the
/// <c>chat.completion.chunk</c> events read as they arrive (<see cref="UpstreamEvents"/>), each
/// piece of the first choice's text handed to <see cref="HandlerContext.ReportPartial"/>, every
/// choice's text gathered whole. Only a stream that reached <c>data: [DONE]</c> gives results, so
/// partial text is never a result: a stream cut before it is a transient
/// <c>upstream_bad_response</c>, an error event is classified as its HTTP status would be.
/// </summary>
internal static class OpenAiChatStream
{
    /// <summary>Adds the call's choices to the results (in index order, up to create_qty) and records the final usage chunk's counts.</summary>
    /// <param name="streamOut">Whether this call's first choice is the one clients follow (the first call's).</param>
    public static async Task ReadAsync(HttpResponseMessage response, EndpointProfile endpoint, HandlerContext context, bool streamOut, CancellationToken cancellationToken)
    {
        var texts = new SortedDictionary<int, StringBuilder>();
        JsonObject? usage = null;
        var done = false;
        await foreach (var item in UpstreamEvents.ReadAsync(response, endpoint.Name, context, cancellationToken))
        {
            if (item.Data == "[DONE]")
            {
                done = true;
                break;
            }
            if (UpstreamCall.ParseAnswer(item.Data) is not JsonObject chunk)
            {
                throw HandlerException.Retry("upstream_bad_response", "the upstream streamed an event that is not a JSON object");
            }
            if (chunk["error"] is JsonObject error)
            {
                throw UpstreamErrors.Classify(StatusOf(error), _ => null, item.Data, context.Logger, endpoint.ApiKey);
            }
            foreach (var choice in (chunk["choices"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var index = choice["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
                // As the whole answer's message.content: a choice whose content is never a string gives no result.
                if ((choice["delta"] as JsonObject)?["content"] is JsonValue content && content.TryGetValue<string>(out var piece))
                {
                    if (!texts.TryGetValue(index, out var text))
                    {
                        texts[index] = text = new StringBuilder();
                    }
                    text.Append(piece);
                    if (streamOut && index == 0 && piece.Length > 0)
                    {
                        context.ReportPartial(piece);
                    }
                }
            }
            // With stream_options.include_usage, the last chunk before [DONE] carries the usage (and no choices).
            usage = chunk["usage"] as JsonObject ?? usage;
        }
        if (!done)
        {
            throw HandlerException.Retry("upstream_bad_response", "the upstream's stream ended before data: [DONE]");
        }
        foreach (var text in texts.Values)
        {
            if (context.Results.Count < context.Quantity)
            {
                context.AddResult(text.ToString());
            }
        }
        OpenAiChatHandler.RecordUsage(context, usage);
    }

    /// <summary>The HTTP status an error event stands for, so that it is classified as the same error answered before the stream would be.</summary>
    private static int StatusOf(JsonObject error)
    {
        string? Token(string name) => error[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var kind = Token("type") ?? Token("code") ?? "";
        return kind switch
        {
            _ when kind.Contains("rate_limit", StringComparison.Ordinal) => 429,
            "insufficient_quota" => 429,
            "invalid_request_error" => 400,
            "authentication_error" or "invalid_api_key" => 401,
            "permission_error" => 403,
            // server_error and anything unnamed: the upstream failed mid-answer.
            _ => 500,
        };
    }
}
