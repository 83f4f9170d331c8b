using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Switchboard.Config;

/// <summary>A config that cannot be read or used; the message names the source, line, column and key path, never a secret.</summary>
public sealed class ConfigException(string message) : ArgumentException(message);

/// <summary>
/// The config YAML protocol (SPEC.md §6): <c>~key: value</c> is Fernet-encrypted when pushed and
/// decrypted on load, <c>^key: value</c> loads as UTF-8 bytes, <c>!ENV ${VAR}</c> is read from
/// the environment at load. Stored documents keep the text as pushed (comments, order, layout);
/// only each <c>~</c> value is replaced in place by its token, so a pull gives back what was
/// pushed with tokens where the secrets were.
/// </summary>
public static partial class ConfigProtocol
{
    public const string Mask = "********";

    public enum KeyKind { Plain, Encrypted, Bytes }

    public static KeyKind KindOf(string key) => key.Length > 1 ? key[0] switch
    {
        '~' => KeyKind.Encrypted,
        '^' => KeyKind.Bytes,
        _ => KeyKind.Plain,
    } : KeyKind.Plain;

    /// <summary>How a load treats <c>~</c> values: decrypt with the keys, or mask them.</summary>
    public sealed class Reading(string root, MultiFernet? keys, bool mask = false, bool keepEnv = false)
    {
        /// <summary>The config id: key paths in messages start with it (<c>svc_handlers.openai.api_key</c>).</summary>
        public string Root { get; } = root;

        /// <summary>Show <c>!ENV</c> values as written instead of substituting them (show, diff).</summary>
        public bool KeepEnv { get; } = keepEnv;

        public List<string> SecretPaths { get; } = [];

        internal JsonNode Open(string token, string path, YamlNode node)
        {
            SecretPaths.Add(path);
            if (mask)
            {
                return JsonValue.Create(Mask);
            }
            if (keys is null)
            {
                throw new YamlException(node.Start, node.End, $"the value at {path} is encrypted and no fernet_key is configured");
            }
            return JsonValue.Create(Decrypt(keys, token, path, node));
        }
    }

    /// <summary>
    /// Key paths start with the config id (<c>svc_handlers.openai.api_key</c>). A document may
    /// also wrap its content in its id (<c>resource_map: {openai: …}</c>); then the path is
    /// already complete.
    /// </summary>
    public static string BasePath(YamlNode root, string id) =>
        id.Length > 0 && root is YamlMappingNode { Children.Count: 1 } map
            && map.Children.Keys.First() is YamlScalarNode { Value: { } key } && key == id
            ? ""
            : id;

    /// <summary>The content of a document that wraps it in its id (see <see cref="BasePath"/>).</summary>
    public static JsonObject Unwrap(string id, JsonObject document) =>
        document.Count == 1 && document[id] is JsonObject inner ? inner : document;

    /// <summary>A <c>~</c> value as written: a string scalar (a plaintext before push, a token after).</summary>
    public static string SecretText(YamlNode value, string path)
    {
        if (value is not YamlScalarNode scalar)
        {
            throw new YamlException(value.Start, value.End, $"the ~ value at {path} must be a string, not a {(value is YamlMappingNode ? "mapping" : "list")}");
        }
        if (YamlJson.IsEnv(scalar))
        {
            throw new YamlException(value.Start, value.End, $"the ~ value at {path} cannot be an !ENV reference (the environment is read at load; drop the ~ to keep the secret in the environment)");
        }
        if (!scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific)
        {
            throw new YamlException(value.Start, value.End, $"unknown tag '{scalar.Tag.Value}' at {path}");
        }
        var read = YamlJson.ToScalar(scalar);
        if (read is not JsonValue text || !text.TryGetValue<string>(out var s))
        {
            throw new YamlException(value.Start, value.End, $"the ~ value at {path} must be a string (quote it)");
        }
        return s;
    }

    private static string Decrypt(MultiFernet keys, string token, string path, YamlNode node)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(keys.Decrypt(token));
        }
        catch (Exception ex) when (ex is FernetException or DecoderFallbackException)
        {
            throw new YamlException(node.Start, node.End, $"wrong key or corrupted value at {path}");
        }
    }

    /// <summary>
    /// Reads a config document: <c>!ENV</c> substituted, <c>~</c> values decrypted (or masked),
    /// <c>^</c> values as bytes, keys without their prefix. <paramref name="source"/> names the
    /// document in errors (a file, or <c>config ID@VERSION</c>).
    /// </summary>
    public static JsonObject Load(string text, string source, Reading reading, Func<string, string?>? environment = null) =>
        Errors(source, () => YamlJson.Parse(text, environment, reading) switch
        {
            JsonObject document => document,
            null => [],
            _ => throw new ConfigException($"{source}: a config must be a YAML mapping"),
        });

    /// <summary>Encrypts every <c>~</c> value under the first key (push). A value that already opens with a key is refused: it was pulled, so push it with --encrypted.</summary>
    public static string Seal(string text, string source, string root, MultiFernet? keys) =>
        Replace(text, source, root, secret =>
        {
            if (keys is null)
            {
                throw new YamlException(secret.Node.Start, secret.Node.End, $"the config has an encrypted value ({secret.Path}) and no fernet_key is configured");
            }
            if (keys.TryDecrypt(secret.Text, out _))
            {
                throw new YamlException(secret.Node.Start, secret.Node.End, $"the value at {secret.Path} is already a Fernet token: push the document with --encrypted");
            }
            return keys.Encrypt(Encoding.UTF8.GetBytes(secret.Text));
        });

    /// <summary>Checks that every <c>~</c> value is a token one of the keys opens (push --encrypted).</summary>
    public static void CheckSealed(string text, string source, string root, MultiFernet? keys) =>
        Replace(text, source, root, secret =>
        {
            if (keys is null)
            {
                throw new YamlException(secret.Node.Start, secret.Node.End, $"the config has an encrypted value ({secret.Path}) and no fernet_key is configured");
            }
            Decrypt(keys, secret.Text, secret.Path, secret.Node);
            return null;
        });

    /// <summary>The stored text with each token under the first key, keeping its timestamp (config rotate-key).</summary>
    public static string Rotate(string text, string source, string root, MultiFernet keys) =>
        Replace(text, source, root, secret =>
        {
            try
            {
                return keys.Rotate(secret.Text);
            }
            catch (FernetException)
            {
                throw new YamlException(secret.Node.Start, secret.Node.End, $"wrong key or corrupted value at {secret.Path}");
            }
        });

    /// <summary>The stored text for people: tokens masked, or with <paramref name="reveal"/> decrypted (config show).</summary>
    public static string Show(string text, string source, string root, MultiFernet? keys, bool reveal) =>
        Replace(text, source, root, secret =>
        {
            if (!reveal)
            {
                return Mask;
            }
            if (keys is null)
            {
                throw new YamlException(secret.Node.Start, secret.Node.End, $"the value at {secret.Path} is encrypted and no fernet_key is configured");
            }
            return Quote(Decrypt(keys, secret.Text, secret.Path, secret.Node));
        });

    /// <summary>A double-quoted YAML scalar (JSON's escapes are YAML's).</summary>
    private static string Quote(string text) =>
        System.Text.Json.JsonSerializer.Serialize(text, new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private sealed record Secret(string Path, YamlScalarNode Node, string Text);

    /// <summary>
    /// Replaces each <c>~</c> value's text in place (a null replacement keeps it). Marks are
    /// those of the text YAML parsed, which differs from the original only where a bare
    /// <c>!ENV ${VAR}</c> was quoted; <see cref="Original"/> maps them back.
    /// </summary>
    private static string Replace(string text, string source, string root, Func<Secret, string?> replacement) => Errors(source, () =>
    {
        var stream = YamlJson.Load(text, out var shifts);
        var secrets = new List<Secret>();
        if (stream.Documents.Count > 0)
        {
            Collect(stream.Documents[0].RootNode, BasePath(stream.Documents[0].RootNode, root), secrets);
        }
        var edits = secrets.Select(s => (s, With: replacement(s))).Where(e => e.With is not null).ToList();
        if (edits.Count == 0)
        {
            return text;
        }
        var result = new StringBuilder(text);
        foreach (var (secret, with) in edits.OrderByDescending(e => e.s.Node.Start.Index))
        {
            var start = Original(shifts, (int)secret.Node.Start.Index);
            var end = Original(shifts, (int)secret.Node.End.Index);
            // A block scalar's span ends after its line breaks; keep them.
            var span = text[start..end];
            var trailing = span.Length - span.TrimEnd().Length;
            result.Remove(start, end - start).Insert(start, with + span[^trailing..]);
        }
        return result.ToString();
    });

    private static int Original(IReadOnlyList<(int At, int Delta)> shifts, int parsed)
    {
        var original = parsed;
        foreach (var (at, delta) in shifts)
        {
            if (at < parsed)
            {
                original -= delta;
            }
        }
        return original;
    }

    private static void Collect(YamlNode node, string path, List<Secret> secrets)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (key, value) in map.Children)
                {
                    var name = (key as YamlScalarNode)?.Value ?? "";
                    var kind = KindOf(name);
                    var childPath = YamlJson.Child(path, kind == KeyKind.Plain ? name : name[1..]);
                    if (kind == KeyKind.Encrypted)
                    {
                        // SecretText refuses anything but a string scalar, before the cast.
                        var text = SecretText(value, childPath);
                        secrets.Add(new Secret(childPath, (YamlScalarNode)value, text));
                    }
                    else
                    {
                        Collect(value, childPath, secrets);
                    }
                }
                break;
            case YamlSequenceNode list:
                for (var i = 0; i < list.Children.Count; i++)
                {
                    Collect(list.Children[i], $"{path}[{i}]", secrets);
                }
                break;
        }
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();

    /// <summary>YAML errors as <c>source:line:col: message</c>, without YamlDotNet's own mark prefix.</summary>
    public static T Errors<T>(string source, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (YamlException ex)
        {
            var message = MarkPrefix().Replace(ex.InnerException is YamlException inner ? inner.Message : ex.Message, "");
            throw new ConfigException($"{source}:{ex.Start.Line}:{ex.Start.Column}: {message}");
        }
    }
}
