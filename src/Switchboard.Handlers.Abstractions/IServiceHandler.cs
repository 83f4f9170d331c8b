using System.Text.Json.Nodes;

namespace Switchboard.Handlers;

/// <summary>
/// The code behind a ServiceHandler row (<c>module.method</c>): built in, or a plugin's
/// (docs/handlers.md). One instance serves every job concurrently, so implementations keep no
/// per-job state in fields.
/// </summary>
public interface IServiceHandler
{
    /// <summary>The handler id offers name: <c>module.method</c>, lower case.</summary>
    string Id { get; }

    /// <summary>
    /// Produce <see cref="HandlerContext.Quantity"/> results through <c>AddResult</c>.
    /// Throw <see cref="HandlerException"/> to classify a failure; any other exception is a
    /// permanent failure whose text is logged but never shown to the client.
    /// </summary>
    Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken);

    /// <summary>
    /// The endpoint profile (<c>svc_handlers</c>) an offer with these params makes this handler
    /// call, or null for a handler that calls nothing outside. A handler that calls out must say
    /// so here: the host keeps an offer whose profile or credential is missing from being sold
    /// (503 <c>handler_misconfigured</c>) and checks an executor's environment variables with it.
    /// </summary>
    string? EndpointProfileFor(JsonObject parameters) => null;

    /// <summary>
    /// What is wrong with an offer's params for this handler, each as <c>(key, problem)</c>
    /// (<c>("model", "is required")</c>); empty when they are fine. Checked at <c>catalog apply</c>,
    /// so an offer that could never run is refused with its name and key, not sold.
    /// </summary>
    IEnumerable<(string Key, string Problem)> CheckParams(JsonObject parameters) => [];
}
