using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Switchboard.Handlers;

/// <summary>What a handler gets for one attempt of one request.</summary>
public sealed class HandlerContext(
    string requestId, int attempt, string prompt, JsonObject parameters, int quantity, ILogger logger, JsonObject? settings = null,
    IReadOnlyList<JsonNode>? input = null, long maxUpstreamBytes = HandlerContext.DefaultMaxUpstreamBytes, IHandlerHost? host = null)
{
    /// <summary>The default of the <c>api</c> config's <c>max_upstream_bytes</c>.</summary>
    public const long DefaultMaxUpstreamBytes = 16 * 1024 * 1024;

    private readonly List<JsonNode> _results = [];
    private readonly List<BinaryResult> _binaries = [];
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
    /// as the prompt's <c>{input}</c>, structured); empty otherwise. A binary result is its
    /// reference (<see cref="BinaryReference"/>); <see cref="ReadBinaryAsync"/> gives its bytes.
    /// </summary>
    public IReadOnlyList<JsonNode> Input { get; } = input ?? [];

    /// <summary>How many results to produce (the offer's <c>create_qty</c>).</summary>
    public int Quantity { get; } = quantity;

    public ILogger Logger { get; } = logger;

    /// <summary>
    /// The most bytes to read from one upstream answer (<c>api</c> config <c>max_upstream_bytes</c>):
    /// read it in bounded pieces, never whole and then checked.
    /// </summary>
    public long MaxUpstreamBytes { get; } = maxUpstreamBytes;

    /// <summary>The results so far, in order; a binary result stands as its reference.</summary>
    public IReadOnlyList<JsonNode> Results => _results;

    /// <summary>The binary results among <see cref="Results"/>, with their bytes.</summary>
    public IReadOnlyList<BinaryResult> Binaries => _binaries;

    public JsonObject Usage => _usage;

    public void AddResult(JsonNode result)
    {
        lock (_results)
        {
            _results.Add(result);
        }
    }

    /// <summary>Adds a binary result: stored once by its hash, listed as its reference with the url its owner reads it at.</summary>
    public void AddResult(BinaryResult result)
    {
        lock (_results)
        {
            _results.Add(result.Reference());
            _binaries.Add(result);
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

    /// <summary>The bytes of a binary input (an element of <see cref="Input"/> that is a <see cref="BinaryReference"/>).</summary>
    public Task<BinaryResult> ReadBinaryAsync(JsonNode reference, CancellationToken cancellationToken)
    {
        var sha256 = BinaryReference.Sha256Of(reference)
            ?? throw HandlerException.Permanent("invalid_input", "the step's input is not a binary result");
        return host is null
            ? throw new InvalidOperationException("this context has no host to read binary inputs from")
            : host.ReadBinaryAsync(RequestId, sha256, cancellationToken);
    }

    /// <summary>How far this attempt is (0 to 1), with an optional message; shown to clients following the request.</summary>
    public void ReportProgress(double fraction, string? message = null)
    {
        fraction = Math.Clamp(double.IsFinite(fraction) ? fraction : 0, 0, 1);
        Logger.LogDebug("Progress {Fraction:0.###}: {Progress}", fraction, message);
        host?.ReportProgress(RequestId, fraction, message);
    }

    /// <summary>Output produced so far (a streamed answer's next piece), for clients following the request.</summary>
    public void ReportPartial(string text)
    {
        host?.ReportPartial(RequestId, text);
    }
}
