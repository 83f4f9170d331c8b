using System.Text.RegularExpressions;

namespace Switchboard.Queue;

/// <summary>
/// Which handlers an executor serves (<c>--handlers 'openai.*,anthropic.messages'</c>): a
/// comma-separated list of exact handler ids (<c>module.method</c>) and module wildcards
/// (<c>module.*</c>). Nothing else is a pattern (no <c>*</c> alone, no <c>open*</c>): a list an
/// operator can read at a glance, and one a Kafka or Celery mapping can name queue by queue.
/// <see cref="All"/> (no option) serves every handler.
/// </summary>
public sealed partial class HandlerPatterns
{
    /// <summary>Serves every handler: the executor without <c>--handlers</c>.</summary>
    public static readonly HandlerPatterns All = new([]);

    private readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    private readonly HashSet<string> _modules = new(StringComparer.Ordinal);

    private HandlerPatterns(IReadOnlyList<string> patterns)
    {
        Patterns = patterns;
        foreach (var pattern in patterns)
        {
            if (pattern.EndsWith(".*", StringComparison.Ordinal))
            {
                _modules.Add(pattern[..^2]);
            }
            else
            {
                _exact.Add(pattern);
            }
        }
    }

    /// <summary>The patterns as given (trimmed, duplicates dropped); empty for <see cref="All"/>.</summary>
    public IReadOnlyList<string> Patterns { get; }

    public bool IsAll => Patterns.Count == 0;

    /// <summary>Whether a job of handler <paramref name="handlerId"/> is this executor's to run.</summary>
    public bool Matches(string handlerId)
    {
        if (IsAll || _exact.Contains(handlerId))
        {
            return true;
        }
        var dot = handlerId.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && _modules.Contains(handlerId[..dot]);
    }

    /// <summary>
    /// Parses the option's value. Null or blank means all handlers. An error names the bad
    /// pattern and says what is accepted, so a typo stops the start instead of an executor that
    /// silently takes nothing.
    /// </summary>
    public static bool TryParse(string? text, out HandlerPatterns patterns, out string? error)
    {
        patterns = All;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }
        var list = new List<string>();
        foreach (var raw in text.Split(','))
        {
            var pattern = raw.Trim();
            if (!Id().IsMatch(pattern) && !Module().IsMatch(pattern))
            {
                error = pattern.Length == 0
                    ? $"--handlers '{text}' has an empty pattern; give handler ids or module.* separated by commas, e.g. 'openai.*,anthropic.messages'"
                    : $"--handlers: '{pattern}' is not a handler id (module.method, e.g. openai.chat) nor a module pattern (module.*, e.g. openai.*)";
                return false;
            }
            if (!list.Contains(pattern, StringComparer.Ordinal))
            {
                list.Add(pattern);
            }
        }
        patterns = new HandlerPatterns(list);
        return true;
    }

    /// <summary>Parses or throws <see cref="ArgumentException"/> with the message of <see cref="TryParse"/>.</summary>
    public static HandlerPatterns Parse(string? text) =>
        TryParse(text, out var patterns, out var error) ? patterns : throw new ArgumentException(error);

    public override string ToString() => IsAll ? "*" : string.Join(',', Patterns);

    // The catalog's handler id rule (Catalog/CatalogDocument.HandlerId), and its module alone with ".*".
    [GeneratedRegex("^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*\\z")]
    private static partial Regex Id();

    [GeneratedRegex("^[a-z][a-z0-9_]*\\.\\*\\z")]
    private static partial Regex Module();
}
