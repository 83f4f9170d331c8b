using System.Text;

namespace Switchboard.Handlers;

/// <summary>
/// One streamed message of <c>anthropic.messages</c> (<c>params.stream: true</c>): the Messages
/// API's events read as they arrive (<see cref="UpstreamEvents"/>): <c>message_start</c> (the
/// input tokens), <c>content_block_delta</c> with a <c>text_delta</c> (a piece of the text, handed to
/// <see cref="HandlerContext.ReportPartial"/>), <c>message_delta</c> (the output tokens so far),
/// <c>message_stop</c>, <c>error</c>; <c>ping</c> and the block starts and stops say nothing here.
/// Only a stream that reached <c>message_stop</c> gives a result: one cut before it is a transient
/// <c>upstream_bad_response</c>, an <c>error</c> event is classified as its HTTP status would be.
/// </summary>
internal static class AnthropicMessagesStream
{
    private static readonly string[] UsageNames = ["input_tokens", "output_tokens"];

    /// <param name="streamOut">Whether this call's text is the one clients follow (the first result's).</param>
    public static async Task ReadAsync(HttpResponseMessage response, EndpointProfile endpoint, HandlerContext context, bool streamOut, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var usage = new Dictionary<string, long>();
        var stopped = false;
        await foreach (var item in UpstreamEvents.ReadAsync(response, endpoint.Name, context, cancellationToken))
        {
            switch (item.EventType)
            {
                case "message_start":
                    Usage(((Event(item.Data)["message"] as JsonObject)?["usage"]) as JsonObject, usage);
                    break;
                case "content_block_delta":
                    if (Event(item.Data)["delta"] is JsonObject delta && delta["type"] is JsonValue type && type.TryGetValue<string>(out var kind)
                        && kind == "text_delta" && delta["text"] is JsonValue t && t.TryGetValue<string>(out var piece))
                    {
                        text.Append(piece);
                        if (streamOut && piece.Length > 0)
                        {
                            context.ReportPartial(piece);
                        }
                    }
                    break;
                case "message_delta":
                    // Its counts are cumulative: the last one is the message's.
                    Usage(Event(item.Data)["usage"] as JsonObject, usage);
                    break;
                case "message_stop":
                    stopped = true;
                    break;
                case "error":
                    throw UpstreamErrors.Classify(StatusOf(Event(item.Data)["error"] as JsonObject), _ => null, item.Data, context.Logger, endpoint.ApiKey);
            }
            if (stopped)
            {
                break;
            }
        }
        if (!stopped)
        {
            throw HandlerException.Retry("upstream_bad_response", "the upstream's stream ended before message_stop");
        }
        foreach (var (name, tokens) in usage)
        {
            context.RecordUsage(name, tokens);
        }
        context.AddResult(text.ToString());
    }

    private static JsonObject Event(string data) =>
        UpstreamCall.ParseAnswer(data) as JsonObject
        ?? throw HandlerException.Retry("upstream_bad_response", "the upstream streamed an event that is not a JSON object");

    private static void Usage(JsonObject? from, Dictionary<string, long> usage)
    {
        foreach (var name in UsageNames)
        {
            if (from?[name] is JsonValue v && v.TryGetValue<long>(out var tokens))
            {
                usage[name] = tokens;
            }
        }
    }

    /// <summary>The HTTP status of an error type (Anthropic's errors page), so a mid-stream error is classified as the same answer would be.</summary>
    private static int StatusOf(JsonObject? error) =>
        (error?["type"] is JsonValue v && v.TryGetValue<string>(out var type) ? type : null) switch
        {
            "invalid_request_error" => 400,
            "authentication_error" => 401,
            "permission_error" => 403,
            "not_found_error" => 404,
            "request_too_large" => 413,
            "rate_limit_error" => 429,
            "overloaded_error" => 529,
            _ => 500, // api_error, and anything unnamed: the upstream failed mid-answer.
        };
}
