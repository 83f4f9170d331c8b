using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Catalog;

/// <summary>
/// A prompt template with <c>{variable}</c> placeholders; <c>{{</c> and <c>}}</c> are literal
/// braces. Parsed once into literal and variable parts, so rendering is a single pass that
/// never looks inside a substituted value: an input containing "{name}" stays literal text.
/// </summary>
public sealed partial class PromptTemplate
{
    private readonly (string Text, bool IsVariable)[] _parts;

    private PromptTemplate(string source, (string, bool)[] parts, string[] variables)
    {
        Source = source;
        _parts = parts;
        Variables = variables;
    }

    public string Source { get; }

    /// <summary>Distinct variable names in order of first use: the endpoint's required inputs.</summary>
    public IReadOnlyList<string> Variables { get; }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}\\z")]
    private static partial Regex VariableName();

    public static bool TryParse(string source, out PromptTemplate template, out string error)
    {
        var parts = new List<(string, bool)>();
        var variables = new List<string>();
        var literal = new StringBuilder();
        template = null!;
        for (var i = 0; i < source.Length; i++)
        {
            var c = source[i];
            if (c == '{' && i + 1 < source.Length && source[i + 1] == '{')
            {
                literal.Append('{');
                i++;
            }
            else if (c == '}' && i + 1 < source.Length && source[i + 1] == '}')
            {
                literal.Append('}');
                i++;
            }
            else if (c == '{')
            {
                var end = source.IndexOf('}', i + 1);
                if (end < 0)
                {
                    error = $"unclosed '{{' at position {i}";
                    return false;
                }
                var name = source[(i + 1)..end];
                if (!VariableName().IsMatch(name))
                {
                    error = $"'{{{name}}}' at position {i} is not a variable name (letters, digits, underscore; write {{{{ for a literal brace)";
                    return false;
                }
                if (literal.Length > 0)
                {
                    parts.Add((literal.ToString(), false));
                    literal.Clear();
                }
                parts.Add((name, true));
                if (!variables.Contains(name))
                {
                    variables.Add(name);
                }
                i = end;
            }
            else if (c == '}')
            {
                error = $"unmatched '}}' at position {i} (write }}}} for a literal brace)";
                return false;
            }
            else
            {
                literal.Append(c);
            }
        }
        if (literal.Length > 0)
        {
            parts.Add((literal.ToString(), false));
        }
        template = new PromptTemplate(source, [.. parts], [.. variables]);
        error = "";
        return true;
    }

    public string Render(IReadOnlyDictionary<string, string> values)
    {
        var text = new StringBuilder();
        foreach (var (part, isVariable) in _parts)
        {
            text.Append(isVariable ? values[part] : part);
        }
        return text.ToString();
    }
}
