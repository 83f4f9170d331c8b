using System.Text.RegularExpressions;

namespace Switchboard.Handlers;

/// <summary>The params of an <c>anthropic.messages</c> offer: checked at <c>catalog apply</c>, turned into the Messages API's body at run.</summary>
public static partial class AnthropicParams
{
    /// <summary>Sent as given when set (the API's own names).</summary>
    private static readonly string[] PassThrough = ["temperature", "top_p", "top_k", "stop_sequences"];

    /// <summary>The param that asks for a streamed answer (a boolean, false when absent).</summary>
    public const string StreamParam = "stream";

    private static readonly string[] Known = [.. ParamChecks.Common, "model", "max_tokens", "system", "anthropic_version", StreamParam, .. PassThrough];

    /// <summary>Whether the offer's params ask for a streamed answer.</summary>
    public static bool Streams(JsonObject p) => ParamChecks.IsTrue(p, StreamParam);

    [GeneratedRegex(@"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\z")]
    private static partial Regex Version();

    public static IEnumerable<(string Key, string Problem)> Check(JsonObject p)
    {
        var problems = ParamChecks.Start(p, Known);
        ParamChecks.RequiredString(p, "model", problems);
        // The API requires max_tokens: an offer without it could never run.
        if (p["max_tokens"] is null)
        {
            problems.Add(("max_tokens", "is required (the Messages API requires it)"));
        }
        ParamChecks.Integer(p, "max_tokens", 1, 1_000_000, problems);
        ParamChecks.String(p, "system", problems);
        ParamChecks.Boolean(p, StreamParam, problems);
        if (ParamChecks.String(p, "anthropic_version", problems) is { } version && !Version().IsMatch(version))
        {
            problems.Add(("anthropic_version", "must be a date like 2023-06-01"));
        }
        ParamChecks.Number(p, "temperature", 0, 1, problems);
        ParamChecks.Number(p, "top_p", 0, 1, problems);
        ParamChecks.Integer(p, "top_k", 1, long.MaxValue, problems);
        if (p["stop_sequences"] is { } stops && stops is not JsonArray)
        {
            problems.Add(("stop_sequences", "must be a list of strings"));
        }
        else
        {
            ParamChecks.Strings(p, "stop_sequences", 16, problems);
        }
        return problems;
    }

    /// <summary>The Messages API body: model, max_tokens, the system prompt, the rendered prompt as the user's turn, sampling fields.</summary>
    public static JsonObject Body(JsonObject p, string prompt)
    {
        var model = p.GetString("model") ?? throw HandlerException.Permanent("handler_misconfigured", "params.model is required");
        var maxTokens = p.GetLong("max_tokens") ?? throw HandlerException.Permanent("handler_misconfigured", "params.max_tokens is required");
        var body = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = maxTokens,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        };
        if (Streams(p))
        {
            body[StreamParam] = true;
        }
        if (p.GetString("system") is { Length: > 0 } system)
        {
            body["system"] = system;
        }
        foreach (var name in PassThrough)
        {
            if (p[name] is { } value)
            {
                body[name] = value.DeepClone();
            }
        }
        return body;
    }
}
