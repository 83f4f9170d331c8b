using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Deals;
using Switchboard.Errors;
using Switchboard.Lifecycle;
using Switchboard.Observability;
using Switchboard.Queue;
using Switchboard.Resources;
using Switchboard.Storage;
using Switchboard.Users;
using Switchboard.Fairness;

namespace Switchboard.Requests;

/// <summary>
/// <c>POST /svc/deal/{name}/</c> with <c>{"inputs": {...}, "addons": [...]}</c>: validate, price,
/// store the deal and its steps and charge the price in one transaction, send the steps that
/// can start, answer 202. The same checks and answers as an offer's submit where they apply.
/// </summary>
public static class DealSubmitEndpoint
{
    public static async Task<IResult> Handle(
        string name, HttpContext http, CatalogCache catalog, RequestLifecycle lifecycle, IJobQueue queue, AppConfigs configs,
        ResourceNeeds needs, IResourceGate gate)
    {
        var known = catalog.Current.FindDeal(name) is not null;
        try
        {
            var result = await Submit(name, http, catalog, lifecycle, queue, configs, needs, gate);
            SubmissionMetrics.Deal(known, name, result);
            return result;
        }
        catch (Exception ex)
        {
            SubmissionMetrics.Threw(known, "deal", name, ex);
            throw;
        }
    }

    private static async Task<IResult> Submit(
        string name, HttpContext http, CatalogCache catalog, RequestLifecycle lifecycle, IJobQueue queue, AppConfigs configs,
        ResourceNeeds needs, IResourceGate gate)
    {
        var settings = configs.Api;
        var snapshot = catalog.Current;
        var deal = snapshot.FindDeal(name);
        if (deal is null || !snapshot.IsLive(deal))
        {
            return Problems.UnknownDeal(name);
        }
        var (document, idempotencyKey, problem) = await SubmitEndpoint.ReadJson(http, settings);
        if (problem is not null)
        {
            return problem;
        }
        DealQuote? quote;
        RequestInputs? inputs;
        using (document)
        {
            var body = document!.RootElement;
            if (body.ValueKind != JsonValueKind.Object)
            {
                return Problems.Of(400, "body_not_object", "The body must be a JSON object", "Send {\"inputs\": {...}, \"addons\": [...]}.");
            }
            var errors = new Dictionary<string, string>(StringComparer.Ordinal);
            try
            {
                // In the try: reading a name that is not text ("\ud800") throws InvalidOperationException.
                var unknown = body.EnumerateObject().Select(p => p.Name).Where(n => n is not ("inputs" or "addons")).ToList();
                if (unknown.Count > 0)
                {
                    return Problems.Of(400, "invalid_body", "Unknown fields in the body",
                        $"Unknown: {string.Join(", ", unknown)}. A deal takes 'inputs' (an object) and 'addons' (a list of offer names).");
                }
                if (Addons(body, errors) is not { } addons || DealPricing.Quote(snapshot, deal, addons, errors) is not { } priced)
                {
                    return Problems.Of(400, "invalid_addons", "The add-ons are not valid", string.Join("; ", errors.Select(e => $"{e.Key} {e.Value}")),
                        new Dictionary<string, object?> { ["errors"] = errors });
                }
                quote = priced;
                var variables = DealInputs.Of(quote.Items.Select(i => (i.Item, i.Offer)));
                if (!body.TryGetProperty("inputs", out var given))
                {
                    given = EmptyObject;
                }
                if (given.ValueKind != JsonValueKind.Object)
                {
                    return SubmitEndpoint.InvalidInputs(new Dictionary<string, string> { ["inputs"] = "must be an object" });
                }
                inputs = RequestInputs.Validate(given, variables, settings.MaxValueChars, errors);
            }
            catch (InvalidOperationException)
            {
                return SubmitEndpoint.InvalidJson();
            }
            if (inputs is null)
            {
                return SubmitEndpoint.InvalidInputs(errors);
            }
        }
        foreach (var item in quote.Items)
        {
            if ((NotInstalled(configs, item) ?? SubmitEndpoint.NeedsEndpointProfile(item.Offer) ?? http.RequestServices.GetRequiredService<Switchboard.Catalog.HandlerReadiness>().NotLive(item.Offer)) is { } notLive)
            {
                return notLive;
            }
            if (await SubmitEndpoint.Rejected(http, needs, gate, item.Offer.Handler) is { } rejected)
            {
                return rejected;
            }
        }
        var (webhook, webhookProblem) = Webhooks.WebhookHeader.Read(http);
        if (webhookProblem is not null)
        {
            return webhookProblem;
        }
        if (await Users.KeyGate.RefuseAsync(http, Users.KeyScopes.Deal(name)) is { } keyRefusal)
        {
            return keyRefusal;
        }
        var user = http.User();
        // A deal's own level is the default (5), shifted by the user's; its steps take the deal's.
        var (priority, priorityProblem) = RequestPriority.Resolve(http, user, Priorities.Default);
        if (priorityProblem is not null)
        {
            return priorityProblem;
        }
        var chosen = quote.ChosenAddons.ToList();
        var id = inputs.RequestId(user.Id, "deal", name, idempotencyKey, chosen);
        Observability.RequestLogging.SetLogRequestId(http, id);
        var newDeal = Build(id, user.Id, quote, inputs, settings) with { Webhook = webhook, Priority = priority, Weight = user.Weight, ApiKey = user.Key, Limits = user.Limits };
        SubmitResult result;
        List<JobMessage> start;
        try
        {
            (result, start) = await lifecycle.SubmitDealAsync(newDeal, Clock.NowMs());
        }
        catch (Credits.InsufficientCreditsException ex)
        {
            return SubmitEndpoint.NotEnoughCredits(ex);
        }
        catch (Users.KeyLimitException ex)
        {
            return ex.ToProblem(http);
        }
        if (result.Outcome == SubmitOutcome.Existing)
        {
            using var connection = lifecycle.Store.Open();
            return TypedResults.Ok(SubmitEndpoint.WithStreamUrl(http, DealView.ToJson(connection, result.Existing!), id, user.Id));
        }
        // Committed: a step message lost from here on (crash) is found by recon, like an offer's.
        foreach (var message in start)
        {
            await queue.EnqueueAsync(message, CancellationToken.None);
        }
        var url = RequestRecord.UrlOf(id);
        return TypedResults.Accepted(url, new SubmitEndpoint.Accepted(id, RequestStatus.Queued, url, SubmitEndpoint.StreamUrl(http, id, user.Id)));
    }

    /// <summary>
    /// The deal request a quote makes of these inputs (its steps, each a snapshot of its offer;
    /// the chosen add-ons kept in its params): the one copy for a client's submit and an admin's
    /// retry (<see cref="RequestAdmin.Retry"/>), which rebuilds it from the current catalog.
    /// </summary>
    internal static NewDeal Build(string id, string userId, DealQuote quote, RequestInputs inputs, ApiConfig settings)
    {
        var text = inputs.AsText();
        var steps = quote.Items.Select(i => new NewStep(
            i.Step, i.Offer.Service, i.Offer.Action, i.Offer.Handler, i.Item.Pipeline,
            i.Item.Waits ? i.Offer.Template.Source : i.Offer.Template.Render(text),
            i.Offer.ParamsJson, i.Offer.CreateQty, i.Share)).ToList();
        var expiration = quote.Items.Select(i => i.Offer.Expiration).Where(e => e is not null).Min();
        var parameters = new JsonObject { ["addons"] = new JsonArray([.. quote.ChosenAddons.Select(a => (JsonNode)a)]) }.ToJsonString();
        return new NewDeal(id, userId, quote.Deal.Name, inputs.ToJson(), parameters, expiration, quote.Price, settings.MaxAttempts, steps);
    }

    /// <summary>503 when the handler of one of the quote's items is not installed here (service_map config), else null.</summary>
    internal static IResult? NotInstalled(AppConfigs configs, QuotedItem item) =>
        configs.Services.IsInstalled(item.Offer.Handler)
            ? null
            : Problems.Of(503, "handler_not_installed", "This deal is not available now",
                $"The handler '{item.Offer.Handler}' of {item.Item.Offer} is not installed (service_map config).");

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>The chosen add-ons: absent or null is none; anything but a list of strings is an error.</summary>
    private static List<string>? Addons(JsonElement body, Dictionary<string, string> errors)
    {
        if (!body.TryGetProperty("addons", out var addons) || addons.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        if (addons.ValueKind != JsonValueKind.Array || addons.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
        {
            errors["addons"] = "must be a list of offer names (\"service/action\")";
            return null;
        }
        return [.. addons.EnumerateArray().Select(a => a.GetString()!)];
    }
}
