using System.Text.RegularExpressions;

namespace Switchboard.Handlers.HttpJson;

/// <summary>
/// A JSON Pointer (RFC 6901, its string form): <c>""</c> is the whole document, else each
/// <c>/</c>-separated segment names an object member (<c>~1</c> is <c>/</c>, <c>~0</c> is <c>~</c>)
/// or an array index (<c>0</c> or digits without a leading zero).
/// Written here rather than taken from JsonPointer.Net: that package's root namespace <c>Json</c>
/// hides this project's <c>Storage.Json</c> type in every file, and it brings Json.More.Net and
/// Humanizer along, for the thirty lines below.
/// </summary>
public sealed partial class JsonPointer
{
    private readonly string[] _segments;

    private JsonPointer(string text, string[] segments) => (Text, _segments) = (text, segments);

    /// <summary>The pointer as written.</summary>
    public string Text { get; }

    // "~" only as "~0" or "~1".
    [GeneratedRegex(@"~(?![01])")]
    private static partial Regex BadEscape();

    public static bool TryParse(string text, out JsonPointer pointer)
    {
        pointer = null!;
        if (text.Length > 0 && (text[0] != '/' || BadEscape().IsMatch(text)))
        {
            return false;
        }
        var segments = text.Length == 0
            ? []
            : text[1..].Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        pointer = new JsonPointer(text, segments);
        return true;
    }

    /// <summary>The value the pointer names in <paramref name="root"/>; false when there is none (a JSON null is found, as null).</summary>
    public bool TryEvaluate(JsonNode? root, out JsonNode? found)
    {
        found = root;
        foreach (var segment in _segments)
        {
            switch (found)
            {
                case JsonObject o when o.TryGetPropertyValue(segment, out var member):
                    found = member;
                    break;
                case JsonArray a when Index(segment) is { } i && i < a.Count:
                    found = a[i];
                    break;
                default:
                    found = null;
                    return false;
            }
        }
        return true;
    }

    /// <summary>An array index: "0", or digits without a leading zero ("-", past the end, is never found).</summary>
    private static int? Index(string segment) =>
        segment.Length is > 0 and < 10 && segment.All(char.IsAsciiDigit) && (segment.Length == 1 || segment[0] != '0') ? int.Parse(segment, System.Globalization.CultureInfo.InvariantCulture) : null;

    public override string ToString() => Text;
}
