using System.Text.Json;

namespace Switchboard.Errors;

/// <summary>A read admin body: the object, or the problem to answer instead (never both).</summary>
public readonly record struct AdminBody(JsonObject? Object, IResult? Problem);

/// <summary>
/// Reading the JSON bodies of the admin API, the one place for every admin endpoint: the JSON
/// content type (415, <see cref="RequireJsonBodies"/>), the size (413, never reading more), well-formed
/// JSON no deeper than <see cref="MaxDepth"/> whose every string is text (400 <c>invalid_json</c>:
/// no lone surrogate, no control character but tab and line breaks), and only the endpoint's
/// declared fields (400 <c>unknown_field</c>). The checks are the client API's
/// (<see cref="JsonBodies"/>), reused, plus the string walk, which admin bodies need because
/// they are kept as <see cref="JsonNode"/>s whose strings are only decoded when an endpoint reads them.
/// </summary>
public static class AdminJson
{
    /// <summary>System.Text.Json's default, as the client API: offer params may nest a little; 1,000 levels are refused.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// 415 <c>unsupported_media_type</c> for any admin request that carries a body which is not
    /// declared JSON, before the endpoint runs (so endpoints added later are covered too).
    /// Body-less POSTs (create a key) need no content type.
    /// </summary>
    public static RouteGroupBuilder RequireJsonBodies(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var request = context.HttpContext.Request;
            var hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
            return hasBody && !JsonBodies.IsJson(request.ContentType) ? UnsupportedMediaType() : await next(context);
        });

    /// <summary>
    /// The body as a JSON object, or the problem to answer. <paramref name="shape"/> names the
    /// expected object in the 400's detail (<c>{"kind", "amount", "note"}</c>); with
    /// <paramref name="fields"/>, any other property is refused as <c>unknown_field</c>.
    /// </summary>
    public static async Task<AdminBody> Read(HttpRequest request, int maxBytes, string shape, params string[] fields)
    {
        if (!JsonBodies.IsJson(request.ContentType))
        {
            return new(null, UnsupportedMediaType());
        }
        var (bytes, tooLarge) = await JsonBodies.ReadBody(request, maxBytes, request.HttpContext.RequestAborted);
        if (tooLarge)
        {
            return new(null, Problems.Of(413, "body_too_large", "The body is too large", $"At most {maxBytes} bytes."));
        }
        if (Parse(bytes) is not { } body)
        {
            return new(null, Problems.Of(400, "invalid_json", "The body is not valid JSON",
                $"The body must be a JSON object of at most {maxBytes} bytes: {shape}."));
        }
        var unknown = fields.Length == 0 ? [] : body.Select(p => p.Key).Where(k => !fields.Contains(k, StringComparer.Ordinal)).ToList();
        return unknown.Count == 0
            ? new(body, null)
            : new(null, Problems.Of(400, "unknown_field", "The body has unknown fields",
                $"Not fields of {shape}: {string.Join(", ", unknown)}.", new Dictionary<string, object?> { ["fields"] = unknown }));
    }

    /// <summary>
    /// The body as a JSON object, or null when it is not one (any of <see cref="Read"/>'s
    /// refusals), for endpoints that answer every bad body with their own 400.
    /// </summary>
    public static async Task<JsonObject?> ReadObject(HttpRequest request, int maxBytes) =>
        (await Read(request, maxBytes, "an object")).Object;

    /// <summary>A JSON object whose every name and string is text, or null.</summary>
    internal static JsonObject? Parse(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            return JsonNode.Parse(bytes.Span, documentOptions: new JsonDocumentOptions { MaxDepth = MaxDepth }) is JsonObject body && IsText(body)
                ? body
                : null;
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            // ArgumentException: a duplicate property name; InvalidOperationException: a name that is not text.
            return null;
        }
    }

    /// <summary>Decodes every name and string now, so that no endpoint meets a bad one later.</summary>
    private static bool IsText(JsonNode? node) => node switch
    {
        JsonObject o => o.All(p => InputText.IsText(p.Key) && IsText(p.Value)),
        JsonArray a => a.All(IsText),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => InputText.IsText(v.GetValue<string>()),
        _ => true,
    };

    private static IResult UnsupportedMediaType() =>
        Problems.Of(415, "unsupported_media_type", "The body must be JSON", "Send 'Content-Type: application/json'.");
}
