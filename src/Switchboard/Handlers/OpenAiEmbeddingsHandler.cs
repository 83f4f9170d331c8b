using OpenAI.Embeddings;

// OPENAI001: the client taking an AuthenticationPolicy (a keyless profile sends no Authorization) is marked for evaluation; the version is pinned and the wire tests check what is sent.
#pragma warning disable OPENAI001

namespace Switchboard.Handlers;

/// <summary>
/// <c>openai.embeddings</c>: <c>POST {base_url}/embeddings</c> through the official SDK, at the
/// offer's endpoint profile. The rendered prompt is embedded; the result is the vector as a JSON
/// array of numbers. An embedding is deterministic, so an offer makes one per request
/// (<c>create_qty: 1</c>); a larger create_qty fails permanently rather than paying for copies.
/// Usage: <c>prompt_tokens</c> and <c>total_tokens</c>.
/// </summary>
public sealed class OpenAiEmbeddingsHandler(IHttpMessageHandlerFactory handlers) : IServiceHandler
{
    private static readonly string[] Known = [.. ParamChecks.Common, "model", "dimensions"];

    public string Id => "openai.embeddings";

    public string? EndpointProfileFor(JsonObject parameters) => EndpointProfiles.NameIn(parameters);

    public IEnumerable<(string Key, string Problem)> CheckParams(JsonObject parameters)
    {
        var problems = ParamChecks.Start(parameters, Known);
        ParamChecks.RequiredString(parameters, "model", problems);
        ParamChecks.Integer(parameters, "dimensions", 1, 65_536, problems);
        return problems;
    }

    public async Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        if (context.Quantity != 1)
        {
            throw HandlerException.Permanent("invalid_params", "openai.embeddings makes one embedding per request: the offer's create_qty must be 1");
        }
        var endpoint = EndpointProfiles.Resolve(context.Settings, context.Params);
        var model = context.Params.GetString("model") ?? throw HandlerException.Permanent("handler_misconfigured", "params.model is required");
        var options = new EmbeddingGenerationOptions();
        if (context.Params.GetLong("dimensions") is { } dimensions)
        {
            options.Dimensions = checked((int)dimensions);
        }
        var (clientOptions, http) = OpenAiSdk.Options(endpoint, handlers, context.MaxUpstreamBytes);
        using (http)
        {
            var client = new EmbeddingClient(model, OpenAiSdk.Authentication(endpoint), clientOptions);
            var embeddings = await OpenAiSdk.Call(
                async () => (await client.GenerateEmbeddingsAsync([context.Prompt], options, cancellationToken)).Value,
                endpoint, context.Logger);
            if (embeddings.Count == 0)
            {
                throw HandlerException.Retry("upstream_bad_response", "the upstream's answer has no embedding");
            }
            var vector = new JsonArray();
            foreach (var value in embeddings[0].ToFloats().Span)
            {
                vector.Add(JsonValue.Create(value));
            }
            context.AddResult(vector);
            if (embeddings.Usage is { } usage)
            {
                context.RecordUsage("prompt_tokens", usage.InputTokenCount);
                context.RecordUsage("total_tokens", usage.TotalTokenCount);
            }
        }
    }
}
