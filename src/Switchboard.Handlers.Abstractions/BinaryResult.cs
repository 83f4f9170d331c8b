using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Switchboard.Handlers;

/// <summary>
/// A result that is bytes (an image, audio), not text. The host stores it once, content-addressed
/// by <see cref="Sha256"/>, and lists it on the request as <see cref="Reference"/> plus the
/// <c>url</c> its owner fetches it from.
/// </summary>
public sealed class BinaryResult
{
    public BinaryResult(ReadOnlyMemory<byte> content, string mediaType)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(mediaType);
        Content = content;
        MediaType = mediaType;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(content.Span));
    }

    public ReadOnlyMemory<byte> Content { get; }

    /// <summary>The bytes' media type, as served (<c>image/png</c>, …).</summary>
    public string MediaType { get; }

    /// <summary>Lower-case hex SHA-256 of <see cref="Content"/>: the key it is stored under.</summary>
    public string Sha256 { get; }

    /// <summary>How a binary result stands among a request's results: <c>{type, media_type, bytes, sha256}</c>; the host adds <c>url</c>.</summary>
    public JsonObject Reference() => new()
    {
        ["type"] = BinaryReference.Type,
        ["media_type"] = MediaType,
        ["bytes"] = Content.Length,
        ["sha256"] = Sha256,
    };
}

/// <summary>Reads the <c>{type: "binary", …}</c> objects that stand for binary results (a step's input, a stored result).</summary>
public static class BinaryReference
{
    public const string Type = "binary";

    /// <summary>The SHA-256 a reference names, or null when <paramref name="node"/> is not a binary reference.</summary>
    public static string? Sha256Of(JsonNode? node) =>
        node is JsonObject o && o["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == Type
            && o["sha256"] is JsonValue h && h.TryGetValue<string>(out var sha) ? sha : null;
}
