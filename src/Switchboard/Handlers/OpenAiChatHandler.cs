using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Outbound;

namespace Switchboard.Handlers;

/// <summary>
/// <c>openai.chat</c>: any OpenAI-compatible <c>POST {base_url}/chat/completions</c>, at the
/// endpoint profile the offer's <c>params.endpoint</c> names (<see cref="EndpointProfiles"/>:
/// URL and key are operator settings in <c>svc_handlers</c>, never params). Params:
/// <c>endpoint</c>, <c>model</c> (required), <c>system</c> (a system message), and the sampling
/// fields passed through as given: temperature, top_p, max_tokens, max_completion_tokens,
/// presence_penalty, frequency_penalty, seed, stop. One call asks for <c>n</c> = create_qty
/// choices; servers that return fewer are asked again for the rest. Calls go through the guarded
/// client (<see cref="Outbound.OutboundGuard"/>) and answers are read up to
/// <see cref="HandlerContext.MaxUpstreamBytes"/>. With <c>stream: true</c> the upstream streams the
/// answer (<see cref="OpenAiChatStream"/>): the first choice's text reaches clients piece by piece
/// (<see cref="HandlerContext.ReportPartial"/>), the stored result is the same as without it.
/// </summary>
public sealed class OpenAiChatHandler(IHttpClientFactory httpClients) : IServiceHandler
{
    public const string HttpClientName = "openai";

    private static readonly string[] PassThrough =
        ["temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "seed", "stop", "response_format"];

    /// <summary>The param that asks for a streamed answer (a boolean, false when absent).</summary>
    public const string StreamParam = "stream";

    public string Id => "openai.chat";

    /// <summary>Whether the offer's params ask for a streamed answer.</summary>
    public static bool Streams(JsonObject parameters) => ParamChecks.IsTrue(parameters, StreamParam);

    public string? EndpointProfileFor(JsonObject parameters) => EndpointProfiles.NameIn(parameters);

    public IEnumerable<(string Key, string Problem)> CheckParams(JsonObject parameters)
    {
        var problems = ParamChecks.Start(parameters, [.. ParamChecks.Common, "model", "system", StreamParam, .. PassThrough]);
        ParamChecks.Boolean(parameters, StreamParam, problems);
        ParamChecks.RequiredString(parameters, "model", problems);
        ParamChecks.String(parameters, "system", problems);
        ParamChecks.Number(parameters, "temperature", 0, 2, problems);
        ParamChecks.Number(parameters, "top_p", 0, 1, problems);
        ParamChecks.Integer(parameters, "max_tokens", 1, long.MaxValue, problems);
        ParamChecks.Integer(parameters, "max_completion_tokens", 1, long.MaxValue, problems);
        ParamChecks.Number(parameters, "presence_penalty", -2, 2, problems);
        ParamChecks.Number(parameters, "frequency_penalty", -2, 2, problems);
        ParamChecks.Integer(parameters, "seed", long.MinValue, long.MaxValue, problems);
        ParamChecks.Strings(parameters, "stop", 4, problems);
        if (parameters["response_format"] is { } format && format is not JsonObject)
        {
            problems.Add(("response_format", "must be a mapping (type: json_object, …)"));
        }
        return problems;
    }

    public async Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        var p = context.Params;
        var endpoint = EndpointProfiles.Resolve(context.Settings, p);
        var model = p.GetString("model") ?? throw HandlerException.Permanent("handler_misconfigured", "params.model is required");
        var apiKey = endpoint.ApiKey;
        var url = endpoint.BaseUrl.AbsoluteUri.TrimEnd('/') + "/chat/completions";
        var client = httpClients.CreateClient(HttpClientName);
        var stream = Streams(p);

        // Bounded: a server that keeps returning nothing must not loop forever.
        for (var call = 0; context.Results.Count < context.Quantity && call < context.Quantity; call++)
        {
            var body = BuildBody(context, model, context.Quantity - context.Results.Count);
            if (stream)
            {
                body[StreamParam] = true;
                body["stream_options"] = new JsonObject { ["include_usage"] = true };
            }
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            if (apiKey is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }
            var response = await UpstreamCall.SendAsync(client, request, endpoint.Name, context, cancellationToken);
            using (response)
            {
                if (stream && UpstreamEvents.IsStream(response))
                {
                    await OpenAiChatStream.ReadAsync(response, endpoint, context, streamOut: call == 0, cancellationToken);
                    continue;
                }
                var text = await UpstreamBody.ReadAsync(response, context.MaxUpstreamBytes, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    throw UpstreamErrors.Classify(response, text, context.Logger, apiKey);
                }
                ReadChoices(context, text);
            }
        }
        if (context.Results.Count < context.Quantity)
        {
            throw HandlerException.Retry("upstream_bad_response", $"the upstream returned {context.Results.Count} of {context.Quantity} choices");
        }
    }

    private static JsonObject BuildBody(HandlerContext context, string model, int n)
    {
        var messages = new JsonArray();
        if (context.Params.GetString("system") is { Length: > 0 } system)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        }
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = context.Prompt });
        var body = new JsonObject { ["model"] = model, ["messages"] = messages, ["n"] = n };
        foreach (var name in PassThrough)
        {
            if (context.Params[name] is { } value)
            {
                body[name] = value.DeepClone();
            }
        }
        return body;
    }

    private static void ReadChoices(HandlerContext context, string text)
    {
        var root = UpstreamCall.ParseAnswer(text);
        // Shapes are checked, never assumed: indexing a JSON value or array by name throws.
        if (root is not JsonObject completion || completion["choices"] is not JsonArray choices)
        {
            throw HandlerException.Retry("upstream_bad_response", "the upstream's answer has no choices");
        }
        foreach (var choice in choices)
        {
            if (context.Results.Count >= context.Quantity)
            {
                break;
            }
            if (((choice as JsonObject)?["message"] as JsonObject)?["content"] is JsonValue content && content.TryGetValue<string>(out var message))
            {
                context.AddResult(message);
            }
        }
        RecordUsage(context, completion["usage"] as JsonObject);
    }

    /// <summary>The answer's token counts, when it has them (a streamed answer's final usage chunk).</summary>
    internal static void RecordUsage(HandlerContext context, JsonObject? usage)
    {
        foreach (var name in new[] { "prompt_tokens", "completion_tokens", "total_tokens" })
        {
            if (usage?[name] is JsonValue v && v.TryGetValue<long>(out var tokens))
            {
                context.RecordUsage(name, tokens);
            }
        }
    }
}
