using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Switchboard.Catalog;

namespace Switchboard.OpenApi;

/// <summary>
/// The live catalog in the client document: the generic routes <c>POST /svc/{service}/{action}/</c>,
/// <c>POST /svc/deal/{name}/</c> and <c>GET /svc/deal/{name}/quote</c> give way to one path per
/// live offer (its template variables as the body's required properties) and per live deal
/// (purchase and quote). Each copies its generic operation's answers, which the endpoints
/// declare. Read from <see cref="CatalogCache"/> each time the document is built (the framework
/// builds it on every request to its URL), so a catalog change shows without a restart.
/// </summary>
internal sealed class CatalogPathsTransformer(CatalogCache catalog) : IOpenApiDocumentTransformer
{
    internal const string SubmitPath = "/svc/{service}/{action}/";
    internal const string DealPath = "/svc/deal/{name}/";
    internal const string QuotePath = "/svc/deal/{name}/quote";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var snapshot = catalog.Current;
        var submit = Take(document, SubmitPath, HttpMethod.Post);
        var dealSubmit = Take(document, DealPath, HttpMethod.Post);
        var quote = Take(document, QuotePath, HttpMethod.Get);
        document.Tags ??= new HashSet<OpenApiTag>();
        foreach (var offer in snapshot.LiveOffers)
        {
            AddTag(document, offer.Service);
            var operation = From(submit, document, offer.Service);
            operation.OperationId = $"{offer.Service}_{offer.Action}".Replace('-', '_');
            operation.Summary = $"{offer.Service}/{offer.Action} ({offer.Price} credits, {offer.CreateQty} result(s))";
            operation.Parameters = [IdempotencyKey(), PriorityHeader()];
            operation.RequestBody = JsonBody(Inputs(offer.Template.Variables, offer.Template.Variables));
            document.Paths[offer.Path] = Path(HttpMethod.Post, operation);
        }
        if (snapshot.LiveDeals.Any())
        {
            AddTag(document, "deal");
        }
        foreach (var deal in snapshot.LiveDeals)
        {
            AddDeal(document, snapshot, deal, dealSubmit, quote);
        }
        // The generic routes' own tags go with them when no path uses them any more.
        var used = document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []).SelectMany(o => o.Tags?.AsEnumerable() ?? []).Select(t => t.Name).ToHashSet();
        foreach (var unused in document.Tags.Where(t => !used.Contains(t.Name)).ToList())
        {
            document.Tags.Remove(unused);
        }
        return Task.CompletedTask;
    }

    /// <summary>Removes the generic operation (and its path when it had no other) and returns it.</summary>
    private static OpenApiOperation? Take(OpenApiDocument document, string path, HttpMethod method)
    {
        if (document.Paths.TryGetValue(path, out var item) && item.Operations is { } operations
            && operations.Remove(method, out var operation))
        {
            if (operations.Count == 0)
            {
                document.Paths.Remove(path);
            }
            return operation;
        }
        return null;
    }

    /// <summary>A copy of the generic operation's answers and security for one catalog entry.</summary>
    private static OpenApiOperation From(OpenApiOperation? generic, OpenApiDocument document, string tag)
    {
        var operation = generic is null ? new OpenApiOperation() : new OpenApiOperation(generic);
        operation.Tags = new HashSet<OpenApiTagReference> { new(tag, document) };
        return operation;
    }

    private static void AddTag(OpenApiDocument document, string name)
    {
        if (!document.Tags!.Any(t => t.Name == name))
        {
            document.Tags!.Add(new OpenApiTag { Name = name });
        }
    }

    private static OpenApiPathItem Path(HttpMethod method, OpenApiOperation operation) =>
        new() { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [method] = operation } };

    /// <summary>
    /// <c>POST /svc/deal/NAME/</c> and <c>GET /svc/deal/NAME/quote</c>. Their operation ids start
    /// with a capital, which no offer's can (services and actions are lowercase slugs).
    /// </summary>
    private static void AddDeal(OpenApiDocument document, CatalogSnapshot snapshot, DealEntry deal, OpenApiOperation? submit, OpenApiOperation? quote)
    {
        var primary = deal.Offers.Select(i => (i, snapshot.FindOffer(i)!)).ToList();
        var required = DealInputs.Of(primary);
        // Like offers, only what can be bought now: add-ons that are not available are left out.
        var addons = deal.Addons.Where(snapshot.IsLive).ToList();
        var optional = addons.SelectMany(a => CatalogEndpoints.ExtraInputs(snapshot, primary, a, required)).Distinct();
        var price = DealPricing.Quote(snapshot, deal, [], new Dictionary<string, string>())!.Price;
        var id = deal.Name.Replace('-', '_');

        var inputs = Inputs([.. required, .. optional], required);
        inputs.Description = "The inputs of the deal's offers; a chosen add-on may need more.";
        var body = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Properties = new Dictionary<string, IOpenApiSchema> { ["inputs"] = inputs, ["addons"] = AddonNames(addons) },
            AdditionalPropertiesAllowed = false,
            // "inputs" may be left out when the deal needs none (the endpoint takes that).
            Required = required.Count > 0 ? new HashSet<string> { "inputs" } : null,
        };
        var purchase = From(submit, document, "deal");
        purchase.OperationId = $"Deal_{id}";
        purchase.Summary = $"deal {deal.Name} ({price} credits without add-ons; {string.Join(", ", deal.Offers.Select(i => i.Offer))})";
        purchase.Parameters = [IdempotencyKey(), PriorityHeader()];
        purchase.RequestBody = JsonBody(body);
        document.Paths[deal.Path] = Path(HttpMethod.Post, purchase);

        var priced = From(quote, document, "deal");
        priced.OperationId = $"Quote_{id}";
        priced.Summary = $"The price of deal {deal.Name} with these add-ons (nothing is charged)";
        priced.Parameters =
        [
            new OpenApiParameter
            {
                Name = "addons",
                In = ParameterLocation.Query,
                Description = "Comma-separated add-on offers; absent or empty is none.",
                Style = ParameterStyle.Form,
                Explode = false,
                Schema = AddonNames(addons),
            },
        ];
        document.Paths[$"{deal.Path}quote"] = Path(HttpMethod.Get, priced);
    }

    /// <summary>An object of text-or-number inputs, no others allowed.</summary>
    private static OpenApiSchema Inputs(IEnumerable<string> names, IReadOnlyCollection<string> required) => new()
    {
        Type = JsonSchemaType.Object,
        Properties = names.ToDictionary(n => n, _ => (IOpenApiSchema)new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Number }),
        AdditionalPropertiesAllowed = false,
        Required = required.Count > 0 ? new HashSet<string>(required) : null,
    };

    /// <summary>A list of add-on names (an empty list when there are none: an enum may not be empty).</summary>
    private static OpenApiSchema AddonNames(IReadOnlyList<DealItem> addons) => addons.Count == 0
        ? new OpenApiSchema { Type = JsonSchemaType.Array, MaxItems = 0, Items = new OpenApiSchema { Type = JsonSchemaType.String } }
        : new OpenApiSchema
        {
            Type = JsonSchemaType.Array,
            UniqueItems = true,
            Items = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. addons.Select(a => (JsonNode)a.Offer)] },
        };

    private static OpenApiRequestBody JsonBody(OpenApiSchema schema) => new()
    {
        Required = true,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
    };

    private static OpenApiParameter IdempotencyKey() => new()
    {
        Name = "Idempotency-Key",
        In = ParameterLocation.Header,
        Description = "Mixed into the request id, to ask for a deliberate re-run of the same inputs.",
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 255 },
    };

    private static OpenApiParameter PriorityHeader() => new()
    {
        Name = Requests.RequestPriority.Header,
        In = ParameterLocation.Header,
        Description = "0 (lowest) to 9 (highest); at most the user's max_priority (or the purchase's own level), lower always. Without it: the offer's level shifted by the user's.",
        Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0", Maximum = "9" },
    };
}
