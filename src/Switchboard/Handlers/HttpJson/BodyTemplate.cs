using System.Text.RegularExpressions;

namespace Switchboard.Handlers.HttpJson;

/// <summary>
/// <c>http.json</c>'s <c>params.body</c>: any JSON value whose string values may hold placeholders.
/// The body is built as JSON nodes and serialised, so a substitution is always a JSON value of its
/// own (a string is escaped by the serialiser), never text spliced into the document:
/// <list type="bullet">
/// <item><c>{prompt}</c>: the offer's <c>prompt_template</c> rendered with the request's inputs
/// (where inputs go: name them in the prompt template). Inside a longer string it is replaced as text.</item>
/// <item><c>{quantity}</c>: the results still wanted from this call. A string that is exactly
/// <c>"{quantity}"</c> becomes a JSON number; inside a longer string, its digits.</item>
/// <item><c>{input}</c>: a pipeline step's input (the step before's results) as a JSON array
/// (<c>[]</c> outside a deal). Only as a whole string: <c>"{input}"</c>.</item>
/// </list>
/// Object keys are never substituted. Braces that are not a placeholder (<c>{"a": 1}</c> inside a
/// string) are kept; a <c>{name}</c> that is not one of the above is refused at <c>catalog apply</c>,
/// since it would reach the upstream as written.
/// </summary>
public static partial class BodyTemplate
{
    public const string Prompt = "{prompt}";
    public const string Quantity = "{quantity}";
    public const string Input = "{input}";

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Placeholder();

    /// <summary>What is wrong with a body template, as problems of <c>body</c> (the JSON path of the string in the message).</summary>
    public static IEnumerable<string> Check(JsonNode? body)
    {
        if (body is null)
        {
            yield return "is required: the JSON the upstream gets, with {prompt} where the prompt goes";
            yield break;
        }
        foreach (var (at, text) in Strings(body, ""))
        {
            foreach (Match m in Placeholder().Matches(text))
            {
                if (m.Value == Input && text != Input)
                {
                    yield return $"at {Where(at)}: {Input} must be the whole string (it is a JSON array)";
                }
                else if (m.Value is not (Prompt or Quantity or Input))
                {
                    yield return $"at {Where(at)}: {m.Value} is not a placeholder of http.json ({Prompt}, {Quantity}, {Input}); request inputs go in the prompt_template and reach the body as {Prompt}";
                }
            }
        }
    }

    /// <summary>The body of one call: a copy of <paramref name="template"/> with its placeholders replaced.</summary>
    public static JsonNode Render(JsonNode template, string prompt, int quantity, IReadOnlyList<JsonNode> input)
    {
        JsonNode? Walk(JsonNode? node) => node switch
        {
            JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, Walk(p.Value)))),
            JsonArray a => new JsonArray([.. a.Select(Walk)]),
            JsonValue v when v.TryGetValue<string>(out var text) => text switch
            {
                Quantity => JsonValue.Create(quantity),
                Input => new JsonArray([.. input.Select(i => i.DeepClone())]),
                // One pass: a prompt that contains "{quantity}" keeps it as written.
                _ => JsonValue.Create(text.Contains('{') ? Placeholder().Replace(text, m => m.Value switch
                {
                    Prompt => prompt,
                    Quantity => quantity.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    _ => m.Value,
                }) : text),
            },
            _ => node?.DeepClone(),
        };
        return Walk(template)!;
    }

    /// <summary>Every string value under <paramref name="node"/> with its JSON Pointer.</summary>
    private static IEnumerable<(string At, string Text)> Strings(JsonNode? node, string at)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    foreach (var s in Strings(value, $"{at}/{key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}"))
                    {
                        yield return s;
                    }
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    foreach (var s in Strings(a[i], $"{at}/{i}"))
                    {
                        yield return s;
                    }
                }
                break;
            case JsonValue v when v.TryGetValue<string>(out var text):
                yield return (at, text);
                break;
        }
    }

    private static string Where(string at) => at.Length == 0 ? "the top" : at;
}
