using System.Globalization;
using System.Text.Json;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace Switchboard.Config;

/// <summary>
/// YAML documents read into (and written from) System.Text.Json nodes, so the rest of the code
/// validates one kind of tree. Plain scalars follow the YAML core schema (null, booleans,
/// integers, floats); quoted scalars are always strings. Floats keep the digits they were
/// written with (<c>1.0</c> stays <c>1.0</c>, not <c>1</c>), since versions are written as floats.
/// </summary>
public static partial class YamlJson
{
    /// <param name="environment">
    /// Where <c>!ENV</c> values are looked up (the process environment when null). A scalar
    /// tagged <c>!ENV</c> has every <c>${NAME}</c> (or <c>${NAME:default}</c>) in it replaced; a
    /// missing variable without a default is an error naming it and the key.
    /// </param>
    /// <param name="protocol">When given, <c>~key</c> and <c>^key</c> are read as the config protocol says (see <see cref="ConfigProtocol"/>).</param>
    public static JsonNode? Parse(string yaml, Func<string, string?>? environment = null, ConfigProtocol.Reading? protocol = null)
    {
        var stream = Load(yaml);
        return stream.Documents.Count == 0
            ? null
            : new Reader(environment ?? Environment.GetEnvironmentVariable, protocol).ToJson(stream.Documents[0].RootNode, ConfigProtocol.BasePath(stream.Documents[0].RootNode, protocol?.Root ?? ""));
    }

    /// <summary>The representation tree, with the <c>!ENV</c> spellings YAML itself cannot read made readable first.</summary>
    public static YamlStream Load(string yaml) => Load(yaml, out _);

    /// <param name="shifts">
    /// Where that quoting moved text: (index in the parsed text, characters added there), so that
    /// a mark of the parsed text can be mapped back to the original.
    /// </param>
    public static YamlStream Load(string yaml, out List<(int At, int Delta)> shifts)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(QuoteBareEnv(yaml, out shifts)));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this (not a YamlException) on some text that ends inside
            // a flow collection, e.g. "a: [10\nb: {": a parse error like the others, at the end.
            var lines = yaml.Split('\n');
            throw new YamlException(new Mark(yaml.Length, lines.Length, lines[^1].Length + 1), new Mark(yaml.Length, lines.Length, lines[^1].Length + 1),
                "the text ends inside an unclosed [ or { (or cannot be read past here)");
        }
        return stream;
    }

    [GeneratedRegex(@"!ENV[ \t]*(\$\{[A-Za-z_][A-Za-z0-9_]*(?::[^}\s""']*)?\})", RegexOptions.CultureInvariant)]
    private static partial Regex BareEnv();

    /// <summary>
    /// <c>key: !ENV ${VAR}</c> inside a flow mapping (<c>{uri: !ENV ${PG_URI}}</c>, as the
    /// documented examples write it) and <c>!ENV${VAR}</c> without a space (as the original
    /// system's configs write it) are not valid YAML: braces end a plain scalar, and cannot be
    /// part of a tag. An !ENV value is always a string, so a bare <c>${VAR}</c> after the tag is
    /// quoted before parsing; the replacement has the same line breaks, so marks keep their lines.
    /// </summary>
    private static string QuoteBareEnv(string yaml, out List<(int At, int Delta)> shifts)
    {
        shifts = [];
        if (!yaml.Contains("!ENV", StringComparison.Ordinal))
        {
            return yaml;
        }
        var quoted = new StringBuilder(yaml.Length + 16);
        var at = 0;
        foreach (Match match in BareEnv().Matches(yaml))
        {
            quoted.Append(yaml, at, match.Index - at);
            var replacement = $"!ENV \"{match.Groups[1].Value}\"";
            shifts.Add((quoted.Length, replacement.Length - match.Length));
            quoted.Append(replacement);
            at = match.Index + match.Length;
        }
        return quoted.Append(yaml, at, yaml.Length - at).ToString();
    }

    /// <summary>The dotted key path of a child: <c>a.b</c>, <c>a[0]</c>.</summary>
    public static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static string Name(string path) => path.Length == 0 ? "the document" : path;

    public static bool IsEnv(YamlNode node) => !node.Tag.IsEmpty && !node.Tag.IsNonSpecific && node.Tag.Value == "!ENV";

    private sealed class Reader(Func<string, string?> environment, ConfigProtocol.Reading? protocol)
    {
        public JsonNode? ToJson(YamlNode node, string path) => node switch
        {
            YamlMappingNode map => ToObject(map, path),
            YamlSequenceNode seq => new JsonArray([.. seq.Children.Select((child, i) => ToJson(child, $"{path}[{i}]"))]),
            YamlScalarNode scalar when IsEnv(scalar) => JsonValue.Create(protocol?.KeepEnv == true ? "!ENV " + scalar.Value : Substitute(scalar, path)),
            YamlScalarNode scalar when !scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific && scalar.Tag.IsLocal => throw new YamlException(node.Start, node.End, $"unknown tag '{scalar.Tag.Value}' at {Name(path)}"),
            YamlScalarNode scalar => ToScalar(scalar),
            _ => throw new YamlException(node.Start, node.End, $"aliases are not supported (at {Name(path)})"),
        };

        private JsonObject ToObject(YamlMappingNode map, string path)
        {
            var obj = new JsonObject();
            foreach (var (key, value) in map.Children)
            {
                if (key is not YamlScalarNode { Value: { } written })
                {
                    throw new YamlException(key.Start, key.End, $"mapping keys must be plain strings (at {Name(path)})");
                }
                var kind = protocol is null ? ConfigProtocol.KeyKind.Plain : ConfigProtocol.KindOf(written);
                var name = kind == ConfigProtocol.KeyKind.Plain ? written : written[1..];
                if (obj.ContainsKey(name))
                {
                    throw new YamlException(key.Start, key.End, $"duplicate key '{name}' at {Name(path)}");
                }
                var childPath = Child(path, name);
                obj[name] = kind switch
                {
                    ConfigProtocol.KeyKind.Encrypted => protocol!.Open(ConfigProtocol.SecretText(value, childPath), childPath, value),
                    ConfigProtocol.KeyKind.Bytes => Bytes(value, childPath),
                    _ => ToJson(value, childPath),
                };
            }
            return obj;
        }

        /// <summary><c>^key</c>: the value's text as UTF-8 bytes (a JSON value holding a byte[]).</summary>
        private JsonNode Bytes(YamlNode value, string path)
        {
            if (value is not YamlScalarNode scalar)
            {
                throw new YamlException(value.Start, value.End, $"the ^ value at {path} must be a scalar (it is read as UTF-8 bytes)");
            }
            var text = IsEnv(scalar) ? Substitute(scalar, path) : scalar.Value ?? "";
            return JsonValue.Create(System.Text.Encoding.UTF8.GetBytes(text))!;
        }

        private string Substitute(YamlScalarNode scalar, string path)
        {
            var text = scalar.Value ?? "";
            var result = new System.Text.StringBuilder();
            var at = 0;
            while (at < text.Length)
            {
                var start = text.IndexOf("${", at, StringComparison.Ordinal);
                if (start < 0)
                {
                    result.Append(text, at, text.Length - at);
                    break;
                }
                var end = text.IndexOf('}', start + 2);
                if (end < 0)
                {
                    throw new YamlException(scalar.Start, scalar.End, $"unclosed ${{ in the !ENV value at {Name(path)}");
                }
                var reference = text[(start + 2)..end];
                var colon = reference.IndexOf(':', StringComparison.Ordinal);
                var name = colon < 0 ? reference : reference[..colon];
                var value = environment(name)
                    ?? (colon < 0 ? null : reference[(colon + 1)..])
                    ?? throw new YamlException(scalar.Start, scalar.End, $"environment variable {name} is not set (needed by {Name(path)})");
                result.Append(text, at, start - at).Append(value);
                at = end + 1;
            }
            return result.ToString();
        }
    }

    /// <summary>How the core schema reads a plain scalar; quoted and block scalars are strings.</summary>
    public static JsonNode? ToScalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return JsonValue.Create(text);
        }
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }
        if (text.Length > 0 && (char.IsDigit(text[0]) || text[0] is '-' or '+' or '.')
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            return JsonNumber(text) ?? JsonValue.Create(real);
        }
        return JsonValue.Create(text);
    }

    /// <summary>A number node that keeps its digits (1.0, 1.10), when the text is also a JSON number.</summary>
    private static JsonValue? JsonNumber(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Number ? JsonValue.Create(document.RootElement.Clone()) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Write(JsonNode? node)
    {
        var serializer = new SerializerBuilder()
            .WithQuotingNecessaryStrings()
            .DisableAliases()
            .Build();
        return serializer.Serialize(ToPlain(node));
    }

    private static object Number(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : double.Parse(text, CultureInfo.InvariantCulture);

    private static object? ToPlain(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => obj.ToDictionary(p => p.Key, p => ToPlain(p.Value)),
        JsonArray arr => arr.Select(ToPlain).ToList(),
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        JsonValue value when value.TryGetValue<bool>(out var b) => b,
        JsonValue value when value.GetValueKind() == JsonValueKind.Number => Number(value.ToJsonString()),
        JsonValue value => value.ToJsonString(),
        _ => node.ToJsonString(),
    };
}
