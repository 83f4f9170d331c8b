using System.Net.Http.Headers;
using System.Text;
using Switchboard.Outbound;

namespace Switchboard.Handlers.HttpJson;

/// <summary>
/// <c>http.json</c>: any JSON HTTP API without code. The operator's endpoint profile says where
/// (<c>base_url</c> + <c>path</c>), how (<c>method</c>, <c>auth</c>, fixed <c>headers</c>) and with
/// which credential (<see cref="HttpJsonEndpoint"/>); the offer's params give the body template
/// and JSON Pointers to the results, usage and error in the answer (<see cref="HttpJsonParams"/>).
/// Inputs reach the upstream only inside the JSON body, as JSON values (<see cref="BodyTemplate"/>),
/// never in the URL. An answer with fewer results than wanted is followed by calls for the rest,
/// at most <see cref="HandlerContext.Quantity"/> calls in all, as <c>openai.chat</c> does.
/// </summary>
public sealed class HttpJsonHandler(IHttpClientFactory httpClients) : IServiceHandler
{
    public const string HttpClientName = "http.json";

    public string Id => "http.json";

    public string? EndpointProfileFor(JsonObject parameters) => EndpointProfiles.NameIn(parameters);

    public IEnumerable<(string Key, string Problem)> CheckParams(JsonObject parameters)
    {
        var problems = new List<(string Key, string Problem)>();
        HttpJsonParams.Read(parameters, problems);
        return problems;
    }

    public async Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        var p = HttpJsonParams.ForJob(context.Params);
        var endpoint = HttpJsonEndpoint.Resolve(context.Settings, context.Params);
        var client = httpClients.CreateClient(HttpClientName);

        // Bounded: a server that keeps returning too few results must not loop forever.
        for (var call = 0; context.Results.Count < context.Quantity && call < context.Quantity; call++)
        {
            var wanted = context.Quantity - context.Results.Count;
            var body = BodyTemplate.Render(p.Body, context.Prompt, wanted, context.Input);
            using var request = new HttpRequestMessage(endpoint.Method, endpoint.Url)
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            foreach (var (name, value) in endpoint.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
            if (endpoint.Profile.ApiKey is { } key)
            {
                request.Headers.TryAddWithoutValidation(endpoint.AuthHeader, endpoint.Bearer ? $"Bearer {key}" : key);
            }
            var response = await UpstreamCall.SendAsync(client, request, endpoint.Profile.Name, context, cancellationToken);
            using (response)
            {
                var text = await UpstreamBody.ReadAsync(response, context.MaxUpstreamBytes, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    throw HttpJsonAnswer.Failure(response, text, p, endpoint, context.Logger);
                }
                HttpJsonAnswer.Read(context, text, p, endpoint, wanted);
            }
        }
        if (context.Results.Count < context.Quantity)
        {
            throw HandlerException.Retry("upstream_bad_response", $"the upstream returned {context.Results.Count} of {context.Quantity} results");
        }
    }
}
