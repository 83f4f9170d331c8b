namespace Switchboard.Cli;

/// <summary>
/// A command line split into positional words and <c>--name value</c> / <c>--flag</c> options.
/// Only words that start with <c>--</c> are options, so a negative number (<c>-5</c>) is a
/// positional word; a lone <c>--</c> ends the options (every later word is positional).
/// Small on purpose: the management commands need nothing more.
/// </summary>
public sealed class Args
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly List<string> _positional = [];

    public Args(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var arg = list[i];
            if (arg == "--")
            {
                _positional.AddRange(list.Skip(i + 1));
                break;
            }
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    _options[arg[2..eq]] = arg[(eq + 1)..];
                }
                else if (flags.Contains(arg[2..]) || i + 1 >= list.Count)
                {
                    _options[arg[2..]] = null;
                }
                else
                {
                    _options[arg[2..]] = list[++i];
                }
            }
            else
            {
                _positional.Add(arg);
            }
        }
    }

    public IReadOnlyList<string> Positional => _positional;

    /// <summary>Every option given, in no particular order (flags have a null value).</summary>
    public IReadOnlyDictionary<string, string?> Options => _options;

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Option(string name) => _options.GetValueOrDefault(name);

    public string Word(int index, string what) =>
        index < _positional.Count ? _positional[index] : throw new UsageException($"missing {what}");

    public long Number(string? text, string what) =>
        long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new UsageException($"{what} must be a whole number, not '{text}'");
}

public sealed class UsageException(string message) : Exception(message);
