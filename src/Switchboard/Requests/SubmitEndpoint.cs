using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Credits;
using Switchboard.Errors;
using Switchboard.Handlers;
using Switchboard.Observability;
using Switchboard.Lifecycle;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Users;
using Switchboard.Webhooks;

namespace Switchboard.Requests;

/// <summary><c>POST /svc/{service}/{action}/</c>: validate, price, store+charge in one transaction, enqueue, answer 202.</summary>
public static class SubmitEndpoint
{
    public static async Task<IResult> Handle(
        string service, string action, HttpContext http, CatalogCache catalog, RequestLifecycle lifecycle, IJobQueue queue, AppConfigs configs,
        ResourceNeeds needs, IResourceGate gate)
    {
        var known = catalog.Current.FindOffer(service, action) is not null;
        try
        {
            var result = await Submit(service, action, http, catalog, lifecycle, queue, configs, needs, gate);
            SubmissionMetrics.Offer(known, service, action, result);
            return result;
        }
        catch (Exception ex)
        {
            SubmissionMetrics.Threw(known, "offer", $"{service}/{action}", ex);
            throw;
        }
    }

    private static async Task<IResult> Submit(
        string service, string action, HttpContext http, CatalogCache catalog, RequestLifecycle lifecycle, IJobQueue queue, AppConfigs configs,
        ResourceNeeds needs, IResourceGate gate)
    {
        var settings = configs.Api;
        var snapshot = catalog.Current;
        var offer = snapshot.FindOffer(service, action);
        if (offer is null || !snapshot.IsLive(offer))
        {
            return snapshot.LiveOffers.Any(o => o.Service == service)
                ? Problems.Of(404, "unknown_action", "No such action", $"Service '{service}' has no action '{action}'.")
                : Problems.Of(404, "unknown_service", "No such service", $"There is no service '{service}'.");
        }
        if ((NotInstalled(configs, offer) ?? NeedsEndpointProfile(offer) ?? http.RequestServices.GetRequiredService<HandlerReadiness>().NotLive(offer)) is { } notInstalled)
        {
            return notInstalled;
        }
        if (await Rejected(http, needs, gate, offer.Handler) is { } rejected)
        {
            return rejected;
        }
        var (document, idempotencyKey, problem) = await ReadJson(http, settings);
        if (problem is not null)
        {
            return problem;
        }
        RequestInputs? inputs;
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        using (document)
        {
            if (document!.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Problems.Of(400, "body_not_object", "The body must be a JSON object", "Send the action's inputs as a JSON object.");
            }
            try
            {
                inputs = RequestInputs.Validate(document.RootElement, offer.Template.Variables, settings.MaxValueChars, errors);
            }
            catch (InvalidOperationException)
            {
                return InvalidJson();
            }
        }
        if (inputs is null)
        {
            return InvalidInputs(errors);
        }
        var (webhook, webhookProblem) = WebhookHeader.Read(http);
        if (webhookProblem is not null)
        {
            return webhookProblem;
        }
        if (await KeyGate.RefuseAsync(http, KeyScopes.Offer(service, action)) is { } keyRefusal)
        {
            return keyRefusal;
        }
        var user = http.User();
        var (priority, priorityProblem) = RequestPriority.Resolve(http, user, offer.Priority);
        if (priorityProblem is not null)
        {
            return priorityProblem;
        }
        var id = inputs.RequestId(user.Id, "offer", $"{service}/{action}", idempotencyKey);
        http.SetLogRequestId(id);
        var request = Build(id, user.Id, offer, inputs, settings) with { Webhook = webhook, Priority = priority, ApiKey = user.Key, Limits = user.Limits };
        SubmitResult result;
        try
        {
            result = await lifecycle.SubmitAsync(request, Storage.Clock.NowMs());
        }
        catch (InsufficientCreditsException ex)
        {
            return NotEnoughCredits(ex);
        }
        catch (KeyLimitException ex)
        {
            return ex.ToProblem(http);
        }
        if (result.Outcome == SubmitOutcome.Existing)
        {
            return TypedResults.Ok(WithStreamUrl(http, result.Existing!.ToJson(), id, user.Id));
        }
        // Committed: from here the request cannot be lost. If this enqueue never happens (crash),
        // start-up recovery dispatches every queued request again.
        await queue.EnqueueAsync(new JobMessage(id, result.Run, offer.Handler, user.Id, request.Priority, user.Weight), CancellationToken.None);
        var url = RequestRecord.UrlOf(id);
        return TypedResults.Accepted(url, new Accepted(id, RequestStatus.Queued, url, StreamUrl(http, id, user.Id)));
    }

    /// <param name="StreamUrl">The request's event stream with a token that opens it (and nothing else) for a day: for a browser's EventSource.</param>
    public sealed record Accepted(string Id, string Status, string Url, string StreamUrl);

    /// <summary>The <c>stream_url</c> of a purchase's answer (<see cref="StreamTokens"/>).</summary>
    internal static string StreamUrl(HttpContext http, string id, string userId) =>
        http.RequestServices.GetRequiredService<StreamTokens>().UrlFor(id, userId);

    /// <summary>A duplicate submit's 200: the request object with a fresh <c>stream_url</c>.</summary>
    internal static System.Text.Json.Nodes.JsonObject WithStreamUrl(HttpContext http, System.Text.Json.Nodes.JsonObject request, string id, string userId)
    {
        request["stream_url"] = StreamUrl(http, id, userId);
        return request;
    }

    /// <summary>
    /// The request an offer makes of these inputs (a snapshot of the offer: handler, rendered
    /// prompt, params, price): the one copy for a client's submit and an admin's retry
    /// (<see cref="RequestAdmin.Retry"/>), which rebuilds it from the current catalog.
    /// </summary>
    internal static NewRequest Build(string id, string userId, OfferEntry offer, RequestInputs inputs, ApiConfig settings) =>
        new(id, userId, offer.Service, offer.Action, offer.Handler, inputs.ToJson(), offer.Template.Render(inputs.AsText()),
            offer.ParamsJson, offer.CreateQty, offer.Expiration, offer.Price, settings.MaxAttempts);

    /// <summary>
    /// 503, before any charge, for an offer stored before endpoint profiles with a URL or key
    /// variable in its params: not live until an admin moves them to a profile.
    /// </summary>
    internal static IResult? NeedsEndpointProfile(OfferEntry offer) =>
        EndpointProfiles.LegacyParams(offer.Params).Count == 0
            ? null
            : Problems.Of(503, EndpointProfiles.LegacyParamsCode, "This action is not available now",
                "Its offer must be moved to an endpoint profile by an admin (see `switchboard catalog check`).");

    /// <summary>503 when the offer's handler is not installed here (service_map config), else null.</summary>
    internal static IResult? NotInstalled(AppConfigs configs, OfferEntry offer) =>
        configs.Services.IsInstalled(offer.Handler)
            ? null
            : Problems.Of(503, "handler_not_installed", "This action is not available now",
                $"Its handler '{offer.Handler}' is not installed (service_map config).");

    internal static IResult NotEnoughCredits(InsufficientCreditsException ex) =>
        Problems.Of(402, "insufficient_credits", "Not enough credits", ex.Message,
            new Dictionary<string, object?> { ["balance"] = ex.Balance, ["price"] = ex.Price });

    internal static IResult InvalidInputs(Dictionary<string, string> errors) =>
        Problems.Of(400, "invalid_inputs", "The inputs are not valid", string.Join("; ", errors.Select(e => $"{e.Key} {e.Value}")),
            new Dictionary<string, object?> { ["errors"] = errors });

    /// <summary>
    /// The checks every submission shares, in order: JSON content type (415), Idempotency-Key
    /// length (400), body size (413, never buffering more than the limit), well-formed JSON (400).
    /// The key is null when absent. On success the caller disposes the document.
    /// </summary>
    internal static async Task<(JsonDocument? Document, string? IdempotencyKey, IResult? Problem)> ReadJson(HttpContext http, ApiConfig settings)
    {
        if (!JsonBodies.IsJson(http.Request.ContentType))
        {
            return (null, null, Problems.Of(415, "unsupported_media_type", "The body must be JSON", "Send 'Content-Type: application/json'."));
        }
        var idempotencyKey = http.Request.Headers["Idempotency-Key"].ToString();
        if (idempotencyKey.Length > 255)
        {
            return (null, null, Problems.Of(400, "invalid_idempotency_key", "The Idempotency-Key header is too long", "At most 255 characters."));
        }
        var (body, tooLarge) = await JsonBodies.ReadBody(http.Request, settings.MaxBodyBytes, http.RequestAborted);
        if (tooLarge)
        {
            return (null, null, Problems.Of(413, "body_too_large", "The body is too large", $"At most {settings.MaxBodyBytes} bytes."));
        }
        try
        {
            return (JsonDocument.Parse(body), idempotencyKey.Length > 0 ? idempotencyKey : null, null);
        }
        catch (JsonException)
        {
            return (null, null, InvalidJson());
        }
    }

    /// <summary>
    /// Also the answer when reading a string of a parsed body throws InvalidOperationException:
    /// well-formed JSON whose strings cannot be text, such as an escaped lone surrogate ("\ud800").
    /// </summary>
    internal static IResult InvalidJson() => Problems.Of(400, "invalid_json", "The body is not valid JSON");

    /// <summary>429 when the handler's resource is exhausted and set to reject new work (see <see cref="Exhausted"/>).</summary>
    internal static async Task<IResult?> Rejected(HttpContext http, ResourceNeeds needs, IResourceGate gate, string handler) =>
        await Exhausted(needs, gate, handler) is { } exhausted ? ResourceExhausted(http, exhausted) : null;

    /// <summary>
    /// The handler's resource and the seconds until it takes new work, when it is exhausted and
    /// set to reject; else null. When the gate cannot be reached the work is accepted: its job
    /// then waits for the gate like any other (fail closed at execution).
    /// </summary>
    internal static async Task<ResourceRefusal?> Exhausted(ResourceNeeds needs, IResourceGate gate, string handler)
    {
        if (needs.For(handler) is not { Spec.OnExhausted: OnExhausted.Reject } need)
        {
            return null;
        }
        TimeSpan? wait;
        try
        {
            wait = await gate.ExhaustedAsync(need);
        }
        catch (Exception ex) when (GateHealth.IsUnreachableError(ex))
        {
            return null;
        }
        return wait is null ? null : new ResourceRefusal(need.Name, Math.Max(1, (long)Math.Ceiling(wait.Value.TotalSeconds)));
    }

    internal static IResult ResourceExhausted(HttpContext http, ResourceRefusal refusal)
    {
        http.Response.Headers.RetryAfter = refusal.Seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problems.Of(429, "resource_exhausted", "The resource this action uses is exhausted", refusal.Detail,
            new Dictionary<string, object?> { ["resource"] = refusal.Resource, ["retry_after_s"] = refusal.Seconds });
    }
}

/// <summary>A resource set to <c>on_exhausted: reject</c> refusing new work for <see cref="Seconds"/> more.</summary>
public sealed record ResourceRefusal(string Resource, long Seconds)
{
    public string Detail => $"'{Resource}' takes no new work now (on_exhausted: reject); try again in {Seconds} s.";
}
