using System.Text;
using System.Text.Json;
using Switchboard.Outbound;

namespace Switchboard.Handlers;

/// <summary>
/// <c>anthropic.messages</c>: <c>POST {base_url}/v1/messages</c> (the Messages API) at the offer's
/// endpoint profile, with <c>x-api-key</c> and <c>anthropic-version</c>. One call per result
/// (the API has no <c>n</c>): create_qty 3 is three calls, their usage added up. The result is the
/// answer's text blocks joined. With <c>stream: true</c> the answer is streamed
/// (<see cref="AnthropicMessagesStream"/>): the first result's text reaches clients piece by piece,
/// the stored result is the same. A plain HttpClient, not the official SDK: docs/handlers.md says why.
/// </summary>
public sealed class AnthropicMessagesHandler(IHttpClientFactory httpClients) : IServiceHandler
{
    public const string HttpClientName = "anthropic";

    /// <summary>The API version sent unless the offer names another (<c>params.anthropic_version</c>).</summary>
    public const string DefaultVersion = "2023-06-01";

    public string Id => "anthropic.messages";

    public string? EndpointProfileFor(JsonObject parameters) => EndpointProfiles.NameIn(parameters);

    public IEnumerable<(string Key, string Problem)> CheckParams(JsonObject parameters) => AnthropicParams.Check(parameters);

    public async Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        var endpoint = EndpointProfiles.Resolve(context.Settings, context.Params);
        var stream = AnthropicParams.Streams(context.Params);
        var body = AnthropicParams.Body(context.Params, context.Prompt).ToJsonString();
        var version = context.Params.GetString("anthropic_version") ?? DefaultVersion;
        var url = endpoint.BaseUrl.AbsoluteUri.TrimEnd('/') + "/v1/messages";
        var client = httpClients.CreateClient(HttpClientName);
        for (var i = 0; i < context.Quantity; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            if (endpoint.ApiKey is not null)
            {
                request.Headers.TryAddWithoutValidation("x-api-key", endpoint.ApiKey);
            }
            request.Headers.TryAddWithoutValidation("anthropic-version", version);
            var response = await UpstreamCall.SendAsync(client, request, endpoint.Name, context, cancellationToken);
            using (response)
            {
                if (stream && UpstreamEvents.IsStream(response))
                {
                    await AnthropicMessagesStream.ReadAsync(response, endpoint, context, streamOut: i == 0, cancellationToken);
                    continue;
                }
                var text = await UpstreamBody.ReadAsync(response, context.MaxUpstreamBytes, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    // 529 (overloaded) is >= 500: transient, like a 503.
                    throw UpstreamErrors.Classify(response, text, context.Logger, endpoint.ApiKey);
                }
                ReadMessage(context, text);
            }
        }
    }

    private static void ReadMessage(HandlerContext context, string text)
    {
        var root = UpstreamCall.ParseAnswer(text);
        if (root is not JsonObject message || message["content"] is not JsonArray blocks)
        {
            throw HandlerException.Retry("upstream_bad_response", "the upstream's answer has no content");
        }
        var answer = new StringBuilder();
        foreach (var block in blocks)
        {
            if (block is JsonObject b && b["type"] is JsonValue type && type.TryGetValue<string>(out var kind) && kind == "text"
                && b["text"] is JsonValue t && t.TryGetValue<string>(out var piece))
            {
                answer.Append(piece);
            }
        }
        if (message["usage"] is JsonObject usage)
        {
            foreach (var name in new[] { "input_tokens", "output_tokens" })
            {
                if (usage[name] is JsonValue v && v.TryGetValue<long>(out var tokens))
                {
                    context.RecordUsage(name, tokens);
                }
            }
        }
        context.AddResult(answer.ToString());
    }
}
