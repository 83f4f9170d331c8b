using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;

namespace Switchboard.Handlers;

/// <summary>
/// The official OpenAI SDK set up the way Switchboard calls out: the endpoint and key of the
/// operator's profile (never params), the guarded client capped at <c>max_upstream_bytes</c> as
/// its transport, none of its own retries (the executor's retry policy retries, honouring
/// Retry-After) and no timeout of its own (the job's applies). Its failures map to the codes
/// every handler uses.
/// </summary>
public static class OpenAiSdk
{
    /// <summary>The guarded HttpClient the SDK's handlers send through (the same as openai.chat's).</summary>
    public const string HttpClientName = OpenAiChatHandler.HttpClientName;

    /// <summary>Options for one job's client; dispose the returned HttpClient with the job.</summary>
    public static (OpenAIClientOptions Options, HttpClient Http) Options(EndpointProfile endpoint, IHttpMessageHandlerFactory handlers, long maxUpstreamBytes)
    {
        var http = CappedUpstreamClient.Create(handlers, HttpClientName, maxUpstreamBytes);
        var options = new OpenAIClientOptions
        {
            Endpoint = endpoint.BaseUrl,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        return (options, http);
    }

    /// <summary>Bearer with the profile's key, or nothing at all for a keyless profile (a local server).</summary>
    public static AuthenticationPolicy Authentication(EndpointProfile endpoint) =>
        endpoint.ApiKey is { Length: > 0 } key
            ? ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(key))
            : new NoCredential();

    /// <summary>
    /// Runs one SDK call and turns its failures into <see cref="HandlerException"/>s: an upstream
    /// status as <see cref="UpstreamErrors"/> classifies it, the transport's own failures as
    /// <see cref="TransportErrors"/> does. Cancellation passes through.
    /// </summary>
    public static async Task<T> Call<T>(Func<Task<T>> call, EndpointProfile endpoint, ILogger logger)
    {
        try
        {
            return await call();
        }
        catch (ClientResultException ex) when (ex.Status > 0 && ex.GetRawResponse() is { } response)
        {
            string body;
            try
            {
                body = response.Content.ToString();
            }
            catch (InvalidOperationException)
            {
                body = "";
            }
            throw UpstreamErrors.Classify(ex.Status, name => response.Headers.TryGetValue(name, out var value) ? value : null, body, logger, endpoint.ApiKey);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not HandlerException && TransportErrors.Classify(ex, endpoint.Name, logger) is { } classified)
        {
            throw classified;
        }
        catch (Exception ex) when (ex is FormatException or KeyNotFoundException or InvalidOperationException or System.Text.Json.JsonException or ArgumentException)
        {
            // The SDK could not read a 2xx answer as what it asked for.
            throw new HandlerException("upstream_bad_response", "the upstream's answer is not what the API returns", transient: true, inner: ex);
        }
    }

    /// <summary>Sends no credential: a keyless profile's calls carry no Authorization header.</summary>
    private sealed class NoCredential : AuthenticationPolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex) =>
            ProcessNext(message, pipeline, currentIndex);

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex) =>
            ProcessNextAsync(message, pipeline, currentIndex);
    }
}
