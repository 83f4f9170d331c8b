using System.Text.Json;

namespace Switchboard.Handlers.HttpJson;

/// <summary>
/// Reads one <c>http.json</c> answer with the offer's pointers: an error (non-2xx, or a 2xx whose
/// error pointer finds a message), then the results and the usage. Anything of the answer a
/// client may see (the error pointer's message) is cut short, stripped of control characters
/// and has the profile's secrets masked.
/// </summary>
public static class HttpJsonAnswer
{
    /// <summary>A 2xx answer without anything at <c>params.results</c>: permanent (the offer's pointer and the API disagree).</summary>
    public const string ResultNotFoundCode = "upstream_result_not_found";

    /// <summary>A result that is not what the offer says (not base64 with <c>results_base64</c>, or null): permanent.</summary>
    public const string ResultInvalidCode = "upstream_result_invalid";

    /// <summary>How much of the upstream's error message a client sees.</summary>
    public const int ShownChars = 200;

    /// <summary>The error for a non-2xx answer: <see cref="UpstreamErrors.Classify"/>'s, with the message at <c>params.error</c> when there is one.</summary>
    public static HandlerException Failure(HttpResponseMessage response, string text, HttpJsonParams p, HttpJsonEndpoint endpoint, ILogger logger)
    {
        var masked = Mask(text, endpoint);
        var classified = UpstreamErrors.Classify(response, masked, logger, secret: null);
        return Message(Parse(text), p, endpoint) is { } message
            ? new HandlerException(classified.Code, $"{classified.Message}: {message}", classified.Transient, classified.RetryAfter)
            : classified;
    }

    /// <summary>Adds the results of a 2xx answer (at most <paramref name="wanted"/>) and its usage; throws a classified failure.</summary>
    public static void Read(HandlerContext context, string text, HttpJsonParams p, HttpJsonEndpoint endpoint, int wanted)
    {
        var root = UpstreamCall.ParseAnswer(text);
        if (Message(root, p, endpoint) is { } message)
        {
            throw HandlerException.Permanent("upstream_rejected", $"the upstream API reported an error: {message}");
        }
        if (!p.Results.TryEvaluate(root, out var found) || found is null)
        {
            throw HandlerException.Permanent(ResultNotFoundCode, $"the upstream's answer has nothing at params.results ({Pointer(p.Results.Text)})");
        }
        JsonNode?[] items = found is JsonArray array ? [.. array] : [found];
        foreach (var (element, index) in items.Take(wanted).Select((element, index) => (element, index)))
        {
            var item = element;
            if (p.Item is { } at && !(at.TryEvaluate(element, out item) && item is not null))
            {
                throw HandlerException.Permanent(ResultNotFoundCode, $"result {index} at params.results ({Pointer(p.Results.Text)}) has nothing at params.item ({Pointer(at.Text)})");
            }
            if (item is null)
            {
                throw HandlerException.Permanent(ResultInvalidCode, $"result {index} at params.results ({Pointer(p.Results.Text)}) is null");
            }
            if (p.MediaType is { } mediaType)
            {
                context.AddResult(new BinaryResult(Base64(item, index, p), mediaType));
            }
            else
            {
                context.AddResult(item.DeepClone());
            }
        }
        foreach (var (name, at) in p.Usage)
        {
            // An answer without a counter (some calls report none) records nothing for it.
            if (at.TryEvaluate(root, out var value) && value is JsonValue v && v.TryGetValue<long>(out var amount) && amount >= 0)
            {
                context.RecordUsage(name, amount);
            }
        }
    }

    private static byte[] Base64(JsonNode item, int index, HttpJsonParams p)
    {
        if (item is JsonValue v && v.TryGetValue<string>(out var text))
        {
            try
            {
                return Convert.FromBase64String(text);
            }
            catch (FormatException)
            {
                // Below: the same failure as a value that is not a string.
            }
        }
        throw HandlerException.Permanent(ResultInvalidCode, $"result {index} at params.results ({Pointer(p.Results.Text)}) is not base64 (params.results_base64 is true)");
    }

    /// <summary>The message at <c>params.error</c>, shortened and masked; null when the offer has no error pointer or it finds no message.</summary>
    private static string? Message(JsonNode? root, HttpJsonParams p, HttpJsonEndpoint endpoint)
    {
        if (p.Error is null || root is null || !p.Error.TryEvaluate(root, out var found) || found is null)
        {
            return null;
        }
        var text = found is JsonValue v && v.TryGetValue<string>(out var s) ? s : found.ToJsonString();
        if (text.Length == 0 || text is "false")
        {
            return null;
        }
        text = Mask(text, endpoint);
        // A client reads this: one short line, no control or bidi characters.
        var clean = new string([.. text.Select(c => char.IsControl(c) || c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069' ? ' ' : c)]).Trim();
        return clean.Length > ShownChars ? clean[..ShownChars] + "…" : clean;
    }

    private static string Mask(string text, HttpJsonEndpoint endpoint) =>
        endpoint.Secrets().Aggregate(text, (t, secret) => t.Replace(secret, "***", StringComparison.Ordinal));

    private static JsonNode? Parse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A pointer as shown in a message ('' for the whole answer).</summary>
    private static string Pointer(string text) => text.Length == 0 ? "''" : $"'{text}'";
}
