using System.Text.Json.Nodes;


namespace Switchboard.Handlers;

/// <summary>
/// The code behind a ServiceHandler row (<c>module.method</c>). One instance serves every job
/// concurrently, so implementations keep no per-job state in fields.
/// </summary>
public interface IServiceHandler
{
    string Id { get; }

    /// <summary>
    /// Produce <see cref="HandlerContext.Quantity"/> results through <see cref="HandlerContext.AddResult"/>.
    /// Throw <see cref="HandlerException"/> to classify a failure; any other exception is a
    /// permanent failure whose text is logged but never shown to the client.
    /// </summary>
    Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken);

    /// <summary>
    /// The endpoint profile (<see cref="EndpointProfiles"/>, <c>svc_handlers</c>) an offer with
    /// these params makes this handler call, or null for a handler that calls nothing outside.
    /// A handler that calls out must say so here: it is what <see cref="HandlerReadiness"/> reads to
    /// keep an offer whose profile or credential is missing from being sold (503
    /// <c>handler_misconfigured</c>) and what <see cref="ExecutorCredentials"/> reads to check an
    /// executor's environment variables.
    /// </summary>
    string? EndpointProfileFor(JsonObject parameters) => null;
}

/// <summary>What a handler gets for one attempt of one request.</summary>
public sealed class HandlerContext(
    string requestId, int attempt, string prompt, JsonObject parameters, int quantity, ILogger logger, JsonObject? settings = null,
    IReadOnlyList<JsonNode>? input = null, long maxUpstreamBytes = UpstreamBody.DefaultMaxBytes)
{
    private readonly List<JsonNode> _results = [];
    private readonly JsonObject _usage = [];

    public string RequestId { get; } = requestId;

    /// <summary>1 for the first claim of this run, 2 for the first retry, ...</summary>
    public int Attempt { get; } = attempt;

    /// <summary>The offer's template rendered with the request's inputs.</summary>
    public string Prompt { get; } = prompt;

    /// <summary>The offer's <c>params</c> (model, temperature, ...), read-only by convention.</summary>
    public JsonObject Params { get; } = parameters;

    /// <summary>
    /// The handler's settings and secrets from the <c>svc_handlers</c> config (module keys
    /// overlaid with the method's), secrets already decrypted; read-only by convention.
    /// </summary>
    public JsonObject Settings { get; } = settings ?? [];

    /// <summary>
    /// For a deal's pipeline step, the results passed to it by the step before (the same data
    /// as the prompt's <c>{input}</c>, structured); empty otherwise.
    /// </summary>
    public IReadOnlyList<JsonNode> Input { get; } = input ?? [];

    /// <summary>How many results to produce (the offer's <c>create_qty</c>).</summary>
    public int Quantity { get; } = quantity;

    public ILogger Logger { get; } = logger;

    /// <summary>
    /// The most bytes to read from one upstream answer (<c>api</c> config <c>max_upstream_bytes</c>):
    /// read with <see cref="UpstreamBody"/>, never whole and then checked.
    /// </summary>
    public long MaxUpstreamBytes { get; } = maxUpstreamBytes;

    public IReadOnlyList<JsonNode> Results => _results;

    public JsonObject Usage => _usage;

    public void AddResult(JsonNode result)
    {
        lock (_results)
        {
            _results.Add(result);
        }
    }

    /// <summary>Adds to a usage counter (tokens, images, ...) shown on the request object.</summary>
    public void RecordUsage(string name, long amount)
    {
        lock (_usage)
        {
            _usage[name] = (_usage[name]?.GetValue<long>() ?? 0) + amount;
        }
    }

    public void ReportProgress(string message) => Logger.LogDebug("Progress: {Progress}", message);
}

/// <summary>A classified handler failure. Transient ones are retried with backoff; permanent ones fail the request and refund it.</summary>
public sealed class HandlerException(string code, string message, bool transient, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>Stable, client-visible error code (e.g. <c>upstream_rate_limited</c>).</summary>
    public string Code { get; } = code;

    public bool Transient { get; } = transient;

    /// <summary>The upstream's Retry-After, when it sent one; the retry waits at least this long.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public static HandlerException Permanent(string code, string message) => new(code, message, transient: false);

    public static HandlerException Retry(string code, string message, TimeSpan? retryAfter = null) => new(code, message, transient: true, retryAfter);
}

/// <summary>The handlers this build has, by id.</summary>
public sealed class HandlerRegistry(IEnumerable<IServiceHandler> handlers)
{
    private readonly Dictionary<string, IServiceHandler> _byId = handlers.ToDictionary(h => h.Id, StringComparer.Ordinal);

    public IReadOnlySet<string> Ids => _byId.Keys.ToHashSet(StringComparer.Ordinal);

    public IServiceHandler? Find(string id) => _byId.GetValueOrDefault(id);
}
