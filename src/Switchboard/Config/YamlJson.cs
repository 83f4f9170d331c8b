using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace Switchboard.Config;

/// <summary>
/// YAML documents read into (and written from) System.Text.Json nodes, so the rest of the code
/// validates one kind of tree. Plain scalars follow the YAML core schema (null, booleans,
/// integers, floats); quoted scalars are always strings.
/// </summary>
public static class YamlJson
{
    /// <param name="environment">
    /// Where <c>!ENV</c> values are looked up (the process environment when null). A scalar
    /// tagged <c>!ENV</c> has every <c>${NAME}</c> in it replaced; a missing variable is an error
    /// naming it and the key.
    /// </param>
    public static JsonNode? Parse(string yaml, Func<string, string?>? environment = null)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(QuoteBareEnv(yaml)));
        return stream.Documents.Count == 0 ? null : new Reader(environment ?? Environment.GetEnvironmentVariable).ToJson(stream.Documents[0].RootNode, "");
    }

    private static readonly System.Text.RegularExpressions.Regex BareEnv =
        new(@"!ENV[ \t]+(\$\{[A-Za-z_][A-Za-z0-9_]*\})", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// <c>key: !ENV ${VAR}</c> inside a flow mapping (<c>{uri: !ENV ${PG_URI}}</c>, as the
    /// documented examples and the original system's configs write it) is not valid YAML: the
    /// braces end the plain scalar. An !ENV value is always a string, so a bare <c>${VAR}</c>
    /// after the tag is quoted before parsing; nothing else changes.
    /// </summary>
    private static string QuoteBareEnv(string yaml) => yaml.Contains("!ENV", StringComparison.Ordinal) ? BareEnv.Replace(yaml, "!ENV \"$1\"") : yaml;

    private sealed class Reader(Func<string, string?> environment)
    {
        public JsonNode? ToJson(YamlNode node, string path) => node switch
        {
            YamlMappingNode map => ToObject(map, path),
            YamlSequenceNode seq => new JsonArray([.. seq.Children.Select((child, i) => ToJson(child, $"{path}[{i}]"))]),
            YamlScalarNode scalar when !scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific && scalar.Tag.Value == "!ENV" => JsonValue.Create(Substitute(scalar, path)),
            YamlScalarNode scalar when !scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific && scalar.Tag.IsLocal => throw new YamlException(node.Start, node.End, $"unknown tag '{scalar.Tag.Value}' at {Name(path)}"),
            YamlScalarNode scalar => ToScalar(scalar),
            _ => throw new YamlException(node.Start, node.End, "aliases are not supported here"),
        };

        private JsonObject ToObject(YamlMappingNode map, string path)
        {
        var obj = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
            {
                throw new YamlException(key.Start, key.End, "mapping keys must be plain strings");
            }
            if (obj.ContainsKey(name))
            {
                throw new YamlException(key.Start, key.End, $"duplicate key '{name}'");
            }
            obj[name] = ToJson(value, path.Length == 0 ? name : $"{path}.{name}");
        }
        return obj;
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
                var name = text[(start + 2)..end];
                var value = environment(name)
                    ?? throw new YamlException(scalar.Start, scalar.End, $"environment variable {name} is not set (needed by {Name(path)})");
                result.Append(text, at, start - at).Append(value);
                at = end + 1;
            }
            return result.ToString();
        }

        private static string Name(string path) => path.Length == 0 ? "the document" : path;
    }

    private static JsonNode? ToScalar(YamlScalarNode scalar)
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
            return JsonValue.Create(real);
        }
        return JsonValue.Create(text);
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
