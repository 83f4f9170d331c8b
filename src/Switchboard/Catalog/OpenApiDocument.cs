using System.Text.Json.Nodes;
using Switchboard.Deals;

namespace Switchboard.Catalog;

/// <summary>
/// An OpenAPI 3.0 document of the live catalog: one path per offer, its template variables as
/// required properties; per deal, its purchase and its quote.
/// </summary>
public static class OpenApiDocument
{
    public static JsonObject Build(CatalogSnapshot catalog)
    {
        var paths = new JsonObject();
        foreach (var offer in catalog.LiveOffers)
        {
            var properties = new JsonObject();
            foreach (var variable in offer.Template.Variables)
            {
                properties[variable] = new JsonObject
                {
                    ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, new JsonObject { ["type"] = "number" }),
                };
            }
            paths[offer.Path] = new JsonObject
            {
                ["post"] = new JsonObject
                {
                    ["operationId"] = $"{offer.Service}_{offer.Action}".Replace('-', '_'),
                    ["tags"] = new JsonArray(offer.Service),
                    ["summary"] = $"{offer.Service}/{offer.Action} ({offer.Price} credits, {offer.CreateQty} result(s))",
                    ["parameters"] = new JsonArray(IdempotencyKey()),
                    ["requestBody"] = new JsonObject
                    {
                        ["required"] = true,
                        ["content"] = new JsonObject
                        {
                            ["application/json"] = new JsonObject
                            {
                                ["schema"] = Required(new JsonObject
                                {
                                    ["type"] = "object",
                                    ["properties"] = properties,
                                    ["additionalProperties"] = false,
                                }, offer.Template.Variables),
                            },
                        },
                    },
                    ["responses"] = SubmitResponses("the request", "Invalid body or inputs", "Unknown service or action"),
                },
            };
        }
        foreach (var deal in catalog.LiveDeals)
        {
            AddDeal(paths, catalog, deal);
        }
        paths["/svc/request/{id}/"] = new JsonObject
        {
            ["parameters"] = new JsonArray(RequestIdParameter()),
            ["get"] = new JsonObject
            {
                ["operationId"] = "get_request",
                ["responses"] = new JsonObject
                {
                    ["200"] = Response("The request", "#/components/schemas/Request"),
                    ["404"] = ProblemResponse("No such request"),
                },
            },
            ["delete"] = new JsonObject
            {
                ["operationId"] = "cancel_request",
                ["responses"] = new JsonObject
                {
                    ["200"] = Response("Cancelled and refunded", "#/components/schemas/Request"),
                    ["404"] = ProblemResponse("No such request"),
                    ["409"] = ProblemResponse("Already finished"),
                },
            },
        };
        paths["/svc/request/{id}/ws"] = new JsonObject
        {
            ["parameters"] = new JsonArray(RequestIdParameter()),
            ["get"] = new JsonObject
            {
                ["operationId"] = "follow_request",
                ["description"] = "Live status: a WebSocket upgrade. The server sends the request object (text frames, as GET "
                    + "/svc/request/{id}/ shows it) at once and at each change, then closes with 1000 and the final status "
                    + "(1001 when the server stops).",
                ["responses"] = new JsonObject
                {
                    ["101"] = new JsonObject { ["description"] = "Switched to the WebSocket protocol" },
                    ["400"] = ProblemResponse("Not a WebSocket upgrade (websocket_required) or a malformed id"),
                    ["404"] = ProblemResponse("No such request"),
                },
            },
        };
        return new JsonObject
        {
            ["openapi"] = "3.0.3",
            ["info"] = new JsonObject { ["title"] = "Switchboard", ["version"] = "1" },
            ["security"] = new JsonArray(new JsonObject { ["bearer"] = new JsonArray() }),
            ["paths"] = paths,
            ["components"] = new JsonObject
            {
                ["securitySchemes"] = new JsonObject { ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer" } },
                ["schemas"] = new JsonObject
                {
                    ["Accepted"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["required"] = new JsonArray("id", "status", "url"),
                        ["properties"] = new JsonObject
                        {
                            ["id"] = new JsonObject { ["type"] = "string" },
                            ["status"] = new JsonObject { ["type"] = "string" },
                            ["url"] = new JsonObject { ["type"] = "string" },
                        },
                    },
                    ["Request"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["id"] = new JsonObject { ["type"] = "string" },
                            ["kind"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("offer", "deal") },
                            ["status"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("queued", "running", "succeeded", "failed", "cancelled", "expired") },
                            ["results"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject() },
                            ["error"] = new JsonObject { ["type"] = "object", ["nullable"] = true },
                        },
                    },
                    ["DealQuote"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["required"] = new JsonArray("deal", "price", "primary", "addons", "steps"),
                        ["properties"] = new JsonObject
                        {
                            ["deal"] = new JsonObject { ["type"] = "string" },
                            ["price"] = new JsonObject { ["type"] = "integer", ["description"] = "Credits the deal costs with these add-ons" },
                            ["primary"] = new JsonObject { ["type"] = "object" },
                            ["addons"] = new JsonObject { ["type"] = "object" },
                            ["steps"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "object" } },
                        },
                    },
                    ["Problem"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["required"] = new JsonArray("code", "title", "status"),
                        ["properties"] = new JsonObject
                        {
                            ["code"] = new JsonObject { ["type"] = "string" },
                            ["title"] = new JsonObject { ["type"] = "string" },
                            ["status"] = new JsonObject { ["type"] = "integer" },
                            ["detail"] = new JsonObject { ["type"] = "string" },
                        },
                    },
                },
            },
        };
    }

    /// <summary>The answers of a purchase, an offer's or a deal's.</summary>
    private static JsonObject SubmitResponses(string what, string invalid, string unknown) => new()
    {
        ["202"] = Response($"Accepted: {what} is queued", "#/components/schemas/Accepted"),
        ["200"] = Response("The same request exists already (not charged again)", "#/components/schemas/Request"),
        ["400"] = ProblemResponse(invalid),
        ["401"] = ProblemResponse("Missing or invalid API key"),
        ["402"] = ProblemResponse("Not enough credits"),
        ["404"] = ProblemResponse(unknown),
        ["413"] = ProblemResponse("Body too large"),
        ["415"] = ProblemResponse("Body is not JSON"),
    };

    private static JsonObject IdempotencyKey() => new()
    {
        ["name"] = "Idempotency-Key",
        ["in"] = "header",
        ["required"] = false,
        ["description"] = "Mixed into the request id, to ask for a deliberate re-run of the same inputs.",
        ["schema"] = new JsonObject { ["type"] = "string", ["maxLength"] = 255 },
    };

    /// <summary>
    /// <c>POST /svc/deal/{name}/</c> and <c>GET /svc/deal/{name}/quote</c>. Their operation ids
    /// start with a capital, which no offer's can (services and actions are lowercase slugs).
    /// </summary>
    private static void AddDeal(JsonObject paths, CatalogSnapshot catalog, DealEntry deal)
    {
        var primary = deal.Offers.Select(i => (i, catalog.FindOffer(i)!)).ToList();
        var required = DealInputs.Of(primary);
        // Like offers, only what can be bought now: add-ons that are not available are left out.
        var addons = deal.Addons.Where(catalog.IsLive).ToList();
        var optional = addons.SelectMany(a => CatalogEndpoints.ExtraInputs(catalog, primary, a, required)).Distinct();
        var inputs = new JsonObject();
        foreach (var variable in required.Concat(optional))
        {
            inputs[variable] = new JsonObject
            {
                ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, new JsonObject { ["type"] = "number" }),
            };
        }
        var price = DealPricing.Quote(catalog, deal, [], new Dictionary<string, string>())!.Price;
        var id = deal.Name.Replace('-', '_');
        paths[deal.Path] = new JsonObject
        {
            ["post"] = new JsonObject
            {
                ["operationId"] = $"Deal_{id}",
                ["tags"] = new JsonArray("deal"),
                ["summary"] = $"deal {deal.Name} ({price} credits without add-ons; {string.Join(", ", deal.Offers.Select(i => i.Offer))})",
                ["parameters"] = new JsonArray(IdempotencyKey()),
                ["requestBody"] = new JsonObject
                {
                    ["required"] = true,
                    ["content"] = new JsonObject
                    {
                        ["application/json"] = new JsonObject
                        {
                            // "inputs" may be left out when the deal needs none (the endpoint takes that).
                            ["schema"] = Required(new JsonObject
                            {
                                ["type"] = "object",
                                ["properties"] = new JsonObject
                                {
                                    ["inputs"] = Required(new JsonObject
                                    {
                                        ["type"] = "object",
                                        ["description"] = "The inputs of the deal's offers; a chosen add-on may need more.",
                                        ["properties"] = inputs,
                                        ["additionalProperties"] = false,
                                    }, required),
                                    ["addons"] = AddonNames(addons),
                                },
                                ["additionalProperties"] = false,
                            }, required.Count > 0 ? ["inputs"] : []),
                        },
                    },
                },
                ["responses"] = SubmitResponses("the deal", "Invalid body, inputs or add-ons", "Unknown deal"),
            },
        };
        paths[$"{deal.Path}quote"] = new JsonObject
        {
            ["get"] = new JsonObject
            {
                ["operationId"] = $"Quote_{id}",
                ["tags"] = new JsonArray("deal"),
                ["summary"] = $"The price of deal {deal.Name} with these add-ons (nothing is charged)",
                ["security"] = new JsonArray(),
                ["parameters"] = new JsonArray(new JsonObject
                {
                    ["name"] = "addons",
                    ["in"] = "query",
                    ["required"] = false,
                    ["description"] = "Comma-separated add-on offers; absent or empty is none.",
                    ["style"] = "form",
                    ["explode"] = false,
                    ["schema"] = AddonNames(addons),
                }),
                ["responses"] = new JsonObject
                {
                    ["200"] = Response("The price and its split over the steps", "#/components/schemas/DealQuote"),
                    ["400"] = ProblemResponse("An add-on is unknown, repeated or not available"),
                    ["404"] = ProblemResponse("Unknown deal"),
                },
            },
        };
    }

    /// <summary>A list of add-on names (an empty list when there are none: an enum may not be empty).</summary>
    private static JsonObject AddonNames(IReadOnlyList<DealItem> addons) => addons.Count == 0
        ? new JsonObject { ["type"] = "array", ["maxItems"] = 0, ["items"] = new JsonObject { ["type"] = "string" } }
        : new JsonObject
        {
            ["type"] = "array",
            ["uniqueItems"] = true,
            ["items"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. addons.Select(a => (JsonNode)a.Offer)]) },
        };

    private static JsonObject Response(string description, string schema) => new()
    {
        ["description"] = description,
        ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = schema } } },
    };

    private static JsonObject RequestIdParameter() => new()
    {
        ["name"] = "id",
        ["in"] = "path",
        ["required"] = true,
        ["schema"] = new JsonObject { ["type"] = "string", ["pattern"] = "^[0-9a-f]{32}$" },
    };

    private static JsonObject ProblemResponse(string description) => new()
    {
        ["description"] = description,
        ["content"] = new JsonObject { ["application/problem+json"] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = "#/components/schemas/Problem" } } },
    };

    /// <summary>Adds <c>required</c> to an object schema when anything is: OpenAPI 3.0 allows no empty list there.</summary>
    private static JsonObject Required(JsonObject schema, IReadOnlyCollection<string> names)
    {
        if (names.Count > 0)
        {
            schema["required"] = new JsonArray([.. names.Select(n => (JsonNode)n)]);
        }
        return schema;
    }
}
