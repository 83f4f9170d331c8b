using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Switchboard.Handlers;

/// <summary>
/// <c>openai.chat</c>: any OpenAI-compatible <c>POST {base_url}/chat/completions</c>.
/// Settings (<c>svc_handlers</c> config, <c>openai</c> or <c>openai.chat</c>): <c>base_url</c>,
/// <c>~api_key</c>. Params (the offer's; <c>base_url</c> there wins): <c>base_url</c>,
/// <c>model</c> (required), <c>api_key_env</c> (name of an environment variable holding the
/// key, used when the settings have no <c>api_key</c>), <c>system</c> (a system message), and the sampling
/// fields passed through as given: temperature, top_p, max_tokens, max_completion_tokens,
/// presence_penalty, frequency_penalty, seed, stop. One call asks for <c>n</c> = create_qty
/// choices; servers that return fewer are asked again for the rest.
/// </summary>
public sealed class OpenAiChatHandler(IHttpClientFactory httpClients) : IServiceHandler
{
    public const string HttpClientName = "openai";

    private static readonly string[] PassThrough =
        ["temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "seed", "stop", "response_format"];

    public string Id => "openai.chat";

    public async Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        var p = context.Params;
        var settings = context.Settings;
        var baseUrl = p.GetString("base_url") ?? settings.GetString("base_url")
            ?? throw HandlerException.Permanent("handler_misconfigured", "base_url is required (svc_handlers config or the offer's params)");
        var model = p.GetString("model") ?? throw HandlerException.Permanent("handler_misconfigured", "params.model is required");
        var apiKey = settings.GetString("api_key");
        if (apiKey is null && (p.GetString("api_key_env") ?? settings.GetString("api_key_env")) is { Length: > 0 } keyVariable)
        {
            apiKey = Environment.GetEnvironmentVariable(keyVariable);
            if (string.IsNullOrEmpty(apiKey))
            {
                throw HandlerException.Permanent("handler_misconfigured", $"environment variable {keyVariable} (params.api_key_env) is not set");
            }
        }
        var url = baseUrl.TrimEnd('/') + "/chat/completions";
        var client = httpClients.CreateClient(HttpClientName);

        // Bounded: a server that keeps returning nothing must not loop forever.
        for (var call = 0; context.Results.Count < context.Quantity && call < context.Quantity; call++)
        {
            var body = BuildBody(context, model, context.Quantity - context.Results.Count);
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            if (apiKey is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                throw new HandlerException("upstream_unreachable", "the upstream API could not be reached", transient: true, inner: ex);
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    throw Classify(response, text);
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
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            throw HandlerException.Retry("upstream_bad_response", "the upstream answered with something that is not JSON");
        }
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
        if (completion["usage"] is JsonObject usage)
        {
            foreach (var name in new[] { "prompt_tokens", "completion_tokens", "total_tokens" })
            {
                if (usage[name] is JsonValue v && v.TryGetValue<long>(out var tokens))
                {
                    context.RecordUsage(name, tokens);
                }
            }
        }
    }

    private static HandlerException Classify(HttpResponseMessage response, string body)
    {
        var status = (int)response.StatusCode;
        var upstreamMessage = UpstreamMessage(body);
        return response.StatusCode switch
        {
            HttpStatusCode.TooManyRequests => HandlerException.Retry("upstream_rate_limited", "the upstream API is rate limiting", RetryAfter(response)),
            HttpStatusCode.RequestTimeout or HttpStatusCode.Conflict or >= HttpStatusCode.InternalServerError =>
                HandlerException.Retry("upstream_error", $"the upstream API answered {status}", RetryAfter(response)),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                HandlerException.Permanent("upstream_auth_failed", $"the upstream API refused the credentials ({status})"),
            _ => HandlerException.Permanent("upstream_rejected", $"the upstream API rejected the call ({status}){upstreamMessage}"),
        };
    }

    private static string UpstreamMessage(string body)
    {
        try
        {
            // {"error": {"message": ...}} as OpenAI sends it, or {"error": "..."} as some compatible servers do.
            var error = (JsonNode.Parse(body) as JsonObject)?["error"];
            if (((error as JsonObject)?["message"] ?? error) is JsonValue v && v.TryGetValue<string>(out var message))
            {
                return ": " + (message.Length > 300 ? message[..300] + "…" : message);
            }
        }
        catch (JsonException)
        {
            // Not JSON: the status code says enough.
        }
        return "";
    }

    /// <summary>Retry-After in seconds or as an HTTP date, or OpenAI's retry-after-ms.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms)
            && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis)
            && millis >= 0 && millis < TimeSpan.MaxValue.TotalMilliseconds)
        {
            return TimeSpan.FromMilliseconds(millis);
        }
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta;
        }
        if (retryAfter?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }
}
