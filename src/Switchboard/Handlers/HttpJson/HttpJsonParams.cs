using System.Text.RegularExpressions;
using Switchboard.Fairness;

namespace Switchboard.Handlers.HttpJson;

/// <summary>
/// An <c>http.json</c> offer's params, read and checked in one place: at <c>catalog apply</c>
/// (<see cref="Read"/>'s problems, each naming its key) and again by each job (a problem there
/// is a permanent <c>invalid_params</c>).
/// </summary>
/// <param name="Body">The body template (<see cref="BodyTemplate"/>).</param>
/// <param name="Results">Where the results are in an answer: an array (each element a result) or one result.</param>
/// <param name="Item">Where the result is within each element (<c>/text</c> of <c>{"text": …}</c>); null: the element itself.</param>
/// <param name="Usage">Usage counter name → where its whole number is in an answer.</param>
/// <param name="Error">Where an error message is in an answer, if the upstream has one.</param>
/// <param name="MediaType">Set when results are base64 bytes of this media type (binary results).</param>
public sealed partial record HttpJsonParams(
    JsonNode Body, JsonPointer Results, JsonPointer? Item, IReadOnlyList<(string Name, JsonPointer At)> Usage, JsonPointer? Error, string? MediaType)
{
    /// <summary>Params of http.json; <c>timeout_s</c> is the runner's, the legacy URL/key params are refused by the catalog itself.</summary>
    private static readonly HashSet<string> Known =
        [EndpointProfiles.Param, "body", "results", "item", "usage", "error", "results_base64", "media_type", "timeout_s", Priorities.Param, .. EndpointProfiles.RemovedParams];

    [GeneratedRegex(@"\A[a-z][a-z0-9_]{0,63}\z")]
    private static partial Regex UsageName();

    // type/subtype tokens (RFC 9110), no parameters.
    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}\z")]
    private static partial Regex MediaTypeText();

    /// <summary>The params, or null with <paramref name="problems"/> saying why, each as <c>(key, problem)</c>.</summary>
    public static HttpJsonParams? Read(JsonObject parameters, List<(string Key, string Problem)> problems)
    {
        var before = problems.Count;
        foreach (var key in parameters.Select(p => p.Key).Where(k => !Known.Contains(k)))
        {
            problems.Add((key, "is not a param of http.json (endpoint, body, results, item, usage, error, results_base64, media_type, timeout_s, priority)"));
        }
        if (parameters[EndpointProfiles.Param] is { } endpoint && !(Text(endpoint) is { } name && EndpointProfiles.IsName(name)))
        {
            problems.Add((EndpointProfiles.Param, "must be the name of an endpoint profile (a-z, 0-9, '-', '_')"));
        }
        var body = parameters["body"];
        problems.AddRange(BodyTemplate.Check(body).Select(p => ("body", p)));

        var results = Pointer(parameters, "results", problems, required: true);
        var item = Pointer(parameters, "item", problems, required: false);
        var error = Pointer(parameters, "error", problems, required: false);

        var usage = new List<(string, JsonPointer)>();
        if (parameters["usage"] is { } usageNode)
        {
            if (usageNode is not JsonObject usageMap)
            {
                problems.Add(("usage", "must be a mapping of usage names (tokens, images, …) to JSON Pointers"));
            }
            else
            {
                foreach (var (counter, at) in usageMap)
                {
                    if (!UsageName().IsMatch(counter))
                    {
                        problems.Add(($"usage.{counter}", "is not a usage name (a-z, 0-9, '_', starting with a letter)"));
                    }
                    else if (!(Text(at) is { } text && JsonPointer.TryParse(text, out var pointer)))
                    {
                        problems.Add(($"usage.{counter}", "not a JSON Pointer (RFC 6901, such as /usage/total_tokens)"));
                    }
                    else
                    {
                        usage.Add((counter, pointer));
                    }
                }
            }
        }

        string? mediaType = null;
        var base64 = parameters["results_base64"] switch
        {
            null => false,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            _ => Problem(problems, "results_base64", "must be true or false"),
        };
        if (parameters["media_type"] is { } media)
        {
            if (!(Text(media) is { } m && MediaTypeText().IsMatch(m)))
            {
                problems.Add(("media_type", "must be a media type such as image/png"));
            }
            else if (!base64)
            {
                problems.Add(("media_type", "is only used with results_base64: true"));
            }
            else
            {
                mediaType = m.ToLowerInvariant();
            }
        }
        else if (base64)
        {
            problems.Add(("media_type", "is required with results_base64: true (the media type of the decoded bytes, such as image/png)"));
        }
        return problems.Count > before ? null : new HttpJsonParams(body!, results!, item, usage, error, mediaType);
    }

    /// <summary>The params of a job; a problem is a permanent <c>invalid_params</c> naming the key.</summary>
    public static HttpJsonParams ForJob(JsonObject parameters)
    {
        var problems = new List<(string Key, string Problem)>();
        return Read(parameters, problems) ?? throw HandlerException.Permanent(
            "invalid_params", string.Join("; ", problems.Select(p => $"params.{p.Key}: {p.Problem}")));
    }

    private static JsonPointer? Pointer(JsonObject parameters, string key, List<(string, string)> problems, bool required)
    {
        switch (parameters[key])
        {
            case null when required:
                problems.Add((key, "is required: a JSON Pointer (RFC 6901) to the results in the upstream's answer, such as /output/items"));
                return null;
            case null:
                return null;
            case var node when Text(node) is { } text && JsonPointer.TryParse(text, out var pointer):
                return pointer;
            default:
                problems.Add((key, "not a JSON Pointer (RFC 6901, such as /output/items)"));
                return null;
        }
    }

    private static bool Problem(List<(string, string)> problems, string key, string problem)
    {
        problems.Add((key, problem));
        return false;
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
