using System.Text.RegularExpressions;
using Switchboard.Handlers;

namespace Switchboard.Blobs;

/// <summary>
/// How a run's binary results stand among its results, checked before anything is stored: each
/// reference the handler added gets its <c>url</c>, and each declared media type must be one a
/// <c>Content-Type</c> header can carry as it is.
/// </summary>
public static partial class BinaryListing
{
    /// <summary>The request error of a binary result whose media type is not <c>type/subtype</c> (with optional parameters).</summary>
    public const string InvalidMediaTypeCode = "result_media_type_invalid";

    // RFC 9110 tokens (no spaces, quotes, separators or control characters), so the value is safe
    // as a header: a handler (a plugin) cannot inject a line or a second header through it.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(;[ ]?[A-Za-z0-9!#$&^_.+-]{1,64}=[A-Za-z0-9!#$&^_.+-]{1,64}){0,4}\z")]
    private static partial Regex MediaType();

    /// <summary>The failure when a binary result's media type cannot be served as declared; null when every one can.</summary>
    public static HandlerException? InvalidMediaType(IReadOnlyList<BinaryResult> binaries) =>
        binaries.FirstOrDefault(b => !MediaType().IsMatch(b.MediaType)) is { } bad
            ? HandlerException.Permanent(InvalidMediaTypeCode, $"a binary result's media type ({bad.MediaType.Length} characters) is not type/subtype")
            : null;

    /// <summary>
    /// The results as stored: a copy where each reference to one of <paramref name="binaries"/>
    /// has the url its owner reads it at (through <paramref name="rootId"/>: the request, or a
    /// step's deal). An object that only looks like a reference (added as JSON) gets no url: no
    /// blob is linked for it, so nothing could be read there.
    /// </summary>
    public static JsonArray WithUrls(IReadOnlyList<JsonNode> results, IReadOnlyList<BinaryResult> binaries, string rootId)
    {
        var stored = binaries.Select(b => b.Sha256).ToHashSet(StringComparer.Ordinal);
        var listed = new JsonArray();
        foreach (var result in results)
        {
            var copy = result.DeepClone();
            if (copy is JsonObject reference && BinaryReference.Sha256Of(reference) is { } sha && stored.Contains(sha))
            {
                reference["url"] = ResultBlobs.UrlOf(rootId, sha);
            }
            listed.Add(copy);
        }
        return listed;
    }
}
