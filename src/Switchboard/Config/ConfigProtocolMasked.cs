using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace Switchboard.Config;

/// <summary>
/// The config protocol for an editor that never holds a secret (the panel's push): the text it
/// starts from has every <c>~</c> value masked (<see cref="Mask"/>), and a <c>~</c> value still
/// masked when it comes back means "keep the sealed value stored at this path".
/// </summary>
public static partial class ConfigProtocol
{
    /// <summary>The mask as a YAML scalar (a bare <c>********</c> would read as an alias).</summary>
    public const string QuotedMask = "\"" + Mask + "\"";

    /// <summary>A stored document for an editor: every <c>~</c> value replaced by <see cref="QuotedMask"/>.</summary>
    public static string ForEditor(string stored, string source, string root) => Replace(stored, source, root, _ => QuotedMask);

    /// <summary>The sealed <c>~</c> values of a stored document by key path (<c>svc_handlers.openai.api_key</c>).</summary>
    public static Dictionary<string, string> Tokens(string stored, string source, string root)
    {
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        Replace(stored, source, root, secret =>
        {
            tokens[secret.Path] = secret.Text;
            return null;
        });
        return tokens;
    }

    /// <summary>
    /// <see cref="Seal"/>, but a <c>~</c> value that is still <see cref="Mask"/> keeps the token
    /// <paramref name="kept"/> holds for its path (a secret stays where it was: it cannot be
    /// moved to another key). A mask where there was no secret, and a pasted token, are refused.
    /// </summary>
    public static string SealKeeping(string text, string source, string root, MultiFernet? keys, IReadOnlyDictionary<string, string> kept) =>
        Replace(text, source, root, secret =>
        {
            if (secret.Text == Mask)
            {
                return kept.TryGetValue(secret.Path, out var token)
                    ? token
                    : throw new YamlException(secret.Node.Start, secret.Node.End, $"the value at {secret.Path} is the mask {Mask} but no secret is stored there: type the value");
            }
            if (keys is null)
            {
                throw new YamlException(secret.Node.Start, secret.Node.End, $"the config has an encrypted value ({secret.Path}) and no fernet_key is configured");
            }
            if (keys.TryDecrypt(secret.Text, out _))
            {
                throw new YamlException(secret.Node.Start, secret.Node.End, $"the value at {secret.Path} is a Fernet token: type the secret itself, or leave {Mask} to keep the stored one");
            }
            return keys.Encrypt(Encoding.UTF8.GetBytes(secret.Text));
        });

    /// <summary>
    /// The text with every <c>~</c> value replaced by <see cref="QuotedMask"/>, to show an edited text
    /// again; a text that does not parse has the value of each line with a <c>~</c> key masked
    /// (a block value's further lines too, as far as they are indented deeper).
    /// </summary>
    public static string MaskTyped(string text, string root)
    {
        try
        {
            return ForEditor(text, "text", root);
        }
        catch (ConfigException)
        {
            var lines = text.Split('\n');
            var masking = -1;
            for (var i = 0; i < lines.Length; i++)
            {
                var indent = lines[i].Length - lines[i].TrimStart().Length;
                if (masking >= 0 && (lines[i].Trim().Length == 0 || indent > masking))
                {
                    lines[i] = "";
                    continue;
                }
                masking = -1;
                if (SecretLine().Match(lines[i]) is { Success: true } m)
                {
                    lines[i] = lines[i][..m.Groups[1].Index] + m.Groups[1].Value + QuotedMask;
                    masking = indent;
                }
            }
            return string.Join('\n', lines);
        }
    }

    /// <summary>A <c>~</c> key anywhere in a line (a flow mapping's too) and the rest of the line, its value.</summary>
    [GeneratedRegex(@"((?:^|[\s{,-])[""']?~[^\s:""']*[""']?\s*:[ \t]*).*$")]
    private static partial Regex SecretLine();
}
