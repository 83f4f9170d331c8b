using System.Text.RegularExpressions;
using Switchboard.Config;
using YamlDotNet.Core;
using Switchboard.Fairness;

namespace Switchboard.Catalog;

/// <summary>
/// The catalog file (<c>catalog apply</c> / <c>catalog export</c>): parsed, validated entry by
/// entry, with every problem named by its place in the file.
/// </summary>
public static partial class CatalogDocument
{
    /// <summary>Service names that are paths of the API itself.</summary>
    public static readonly IReadOnlySet<string> ReservedServices = new HashSet<string>(StringComparer.Ordinal) { "request", "deal", "me" };

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}\\z")]
    public static partial Regex Slug();

    [GeneratedRegex("^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*\\z")]
    private static partial Regex HandlerId();

    public sealed record Parsed(IReadOnlyList<HandlerEntry> Handlers, IReadOnlyList<OfferEntry> Offers, IReadOnlyList<DealEntry> Deals, IReadOnlyList<string> Errors);

    /// <summary>The catalog file read as a document, or null with the YAML error (line, column, message).</summary>
    public static JsonNode? ReadYaml(string yaml, out string? error)
    {
        error = null;
        try
        {
            return YamlJson.Parse(yaml);
        }
        catch (YamlException ex)
        {
            error = $"line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}";
            return null;
        }
    }

    /// <summary>Parses and checks a catalog document (the file read by <see cref="ReadYaml"/>, or the admin API's JSON bodies).</summary>
    /// <param name="implementations">Handler ids this build has code for.</param>
    /// <param name="existingHandlers">Handlers already in the store (offers may name them).</param>
    /// <param name="existingOffers">Offers already in the store, as "service/action" (deals may name them).</param>
    /// <param name="checkParams">Each offer's params checked by its handler (<see cref="HandlerParamsCheck"/>); none: not checked.</param>
    public static Parsed Parse(JsonNode? root, IReadOnlySet<string> implementations, IReadOnlySet<string> existingHandlers, IReadOnlySet<string> existingOffers,
        ParamsCheck? checkParams = null)
    {
        var errors = new List<string>();
        if (root is not JsonObject doc)
        {
            return new Parsed([], [], [], ["the file must be a mapping with 'handlers', 'offers' and/or 'deals'"]);
        }
        foreach (var key in doc.Select(p => p.Key).Where(k => k is not ("handlers" or "offers" or "deals")))
        {
            errors.Add($"unknown top-level key '{key}' (expected handlers, offers, deals)");
        }
        var handlers = new List<HandlerEntry>();
        // Every id the file names, valid or not: an offer naming a handler with its own error
        // should not get a second, misleading "unknown handler" error.
        var namedHandlers = new HashSet<string>(existingHandlers);
        foreach (var (item, i) in Items(doc, "handlers", errors))
        {
            var where = $"handlers[{i}]";
            var e = new EntryErrors(where, item, errors, ["id", "credits", "resource", "enabled"]);
            var id = e.Str("id", required: true);
            if (id is not null)
            {
                namedHandlers.Add(id);
                e.Where = $"{where} ({id})";
                if (!HandlerId().IsMatch(id))
                {
                    e.Add("id", "must be <module>.<method> in lowercase");
                }
                else if (!implementations.Contains(id))
                {
                    e.Add("id", $"no handler implementation named '{id}' (known: {string.Join(", ", implementations.Order())})");
                }
                if (handlers.Any(h => h.Id == id))
                {
                    e.Add("id", "appears twice in this file");
                }
            }
            var (credits, perUnit) = item["credits"] is JsonObject cost ? HandlerCredits(e, cost) : (e.Int("credits", required: true, min: 0) ?? 0, null);
            var resource = e.Str("resource", required: false);
            var enabled = e.Bool("enabled") ?? true;
            if (e.Ok && id is not null)
            {
                handlers.Add(new HandlerEntry(id, credits, resource, enabled, perUnit));
            }
        }
        var offers = new List<OfferEntry>();
        // As with handlers: every offer the file names, valid or not, so that a deal naming an
        // offer with its own error gets no second, misleading "unknown offer" error.
        var namedOffers = new HashSet<string>(existingOffers, StringComparer.Ordinal);
        foreach (var (item, i) in Items(doc, "offers", errors))
        {
            var where = $"offers[{i}]";
            var e = new EntryErrors(where, item, errors, ["service", "action", "handler", "price", "prompt_template", "create_qty", "expiration", "params", "enabled"]);
            var service = e.Str("service", required: true);
            var action = e.Str("action", required: true);
            if (service is not null && action is not null)
            {
                e.Where = $"{where} ({service}/{action})";
                namedOffers.Add($"{service}/{action}");
            }
            if (service is not null && !Slug().IsMatch(service))
            {
                e.Add("service", "must be a lowercase slug (a-z, 0-9, '-', '_')");
            }
            else if (service is not null && ReservedServices.Contains(service))
            {
                e.Add("service", $"'{service}' is reserved");
            }
            if (action is not null && !Slug().IsMatch(action))
            {
                e.Add("action", "must be a lowercase slug (a-z, 0-9, '-', '_')");
            }
            if (offers.Any(o => o.Service == service && o.Action == action))
            {
                e.Add("action", "this service/action appears twice in this file");
            }
            var handler = e.Str("handler", required: true);
            if (handler is not null && !namedHandlers.Contains(handler))
            {
                e.Add("handler", $"unknown handler '{handler}' (define it under handlers)");
            }
            var price = e.Int("price", required: true, min: 0);
            var qty = e.Int("create_qty", required: false, min: 1, max: 100) ?? 1;
            var expiration = e.Int("expiration", required: false, min: 1);
            var source = e.Str("prompt_template", required: true);
            PromptTemplate? template = null;
            if (source is not null && !PromptTemplate.TryParse(source, out template, out var templateError))
            {
                e.Add("prompt_template", templateError);
            }
            var parameters = new JsonObject();
            if (item["params"] is { } p)
            {
                if (p is JsonObject po)
                {
                    parameters = (JsonObject)po.DeepClone();
                    if (Handlers.EndpointProfiles.LegacyParams(po) is { Count: > 0 } legacy)
                    {
                        e.Add("params", Handlers.EndpointProfiles.Fix(handler ?? "module.method", legacy));
                    }
                    else if (Handlers.OfferEndpoints.Check(po).ToList() is { Count: > 0 } endpointProblems)
                    {
                        foreach (var (key, problem) in endpointProblems)
                        {
                            e.Add($"params.{key}", problem);
                        }
                    }
                    else if (checkParams is not null && handler is not null)
                    {
                        // A handler checks the params it will see: one profile, the list's first, in params.endpoint.
                        var seen = Handlers.OfferEndpoints.Of(parameters) is { } list ? Handlers.OfferEndpoints.ForHandler(parameters, list.Endpoints[0].Name) : parameters;
                        foreach (var (key, problem) in checkParams(handler, seen))
                        {
                            e.Add(key.Length == 0 ? "params" : $"params.{key}", problem);
                        }
                    }
                }
                else
                {
                    e.Add("params", "must be a mapping");
                }
            }
            else if (checkParams is not null && handler is not null)
            {
                // No params is empty params: an offer that leaves out a required one is refused too.
                foreach (var (key, problem) in checkParams(handler, parameters))
                {
                    e.Add(key.Length == 0 ? "params" : $"params.{key}", problem);
                }
            }
            // The queue's, not the handler's: checked for every handler, plugins' too.
            if (OfferPriority.Check(parameters) is { } badPriority)
            {
                e.Add($"params.{Priorities.Param}", badPriority);
            }
            var enabled = e.Bool("enabled") ?? true;
            if (e.Ok && service is not null && action is not null && handler is not null && price is not null && template is not null)
            {
                offers.Add(new OfferEntry(service, action, handler, price.Value, template, qty, expiration, parameters, enabled));
            }
        }
        var deals = ParseDeals(doc, namedOffers, errors);
        return new Parsed(handlers, offers, deals, errors);
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}\\z")]
    private static partial Regex UsageName();

    /// <summary>
    /// A handler's <c>credits: {per_call: N, per: {images: 4, total_tokens: 0.002}}</c>: per call,
    /// plus per unit of the usage counters its handler records.
    /// </summary>
    private static (int PerCall, Dictionary<string, double>? PerUnit) HandlerCredits(EntryErrors e, JsonObject cost)
    {
        foreach (var key in cost.Select(p => p.Key).Where(k => k is not ("per_call" or "per")))
        {
            e.Add("credits", $"has unknown key '{key}' (expected per_call, per)");
        }
        var perCall = 0;
        if (cost["per_call"] is { } call)
        {
            if (call is JsonValue v && v.TryGetValue<long>(out var n) && n >= 0 && n <= int.MaxValue)
            {
                perCall = (int)n;
            }
            else
            {
                e.Add("credits.per_call", "must be a whole number >= 0");
            }
        }
        if (cost["per"] is not JsonObject per || per.Count == 0)
        {
            e.Add("credits.per", "must map usage names to credits per unit (images: 4, total_tokens: 0.002)");
            return (perCall, null);
        }
        var rates = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, rate) in per)
        {
            if (!UsageName().IsMatch(name))
            {
                e.Add($"credits.per.{name}", "is not a usage name (lowercase letters, digits, '_')");
            }
            else if (rate is JsonValue r && (r.TryGetValue<double>(out var d) || (r.TryGetValue<long>(out var l) && (d = l) == l))
                && double.IsFinite(d) && d >= 0 && d <= 1_000_000)
            {
                rates[name] = d;
            }
            else
            {
                e.Add($"credits.per.{name}", "must be a number from 0 to 1000000");
            }
        }
        return (perCall, rates);
    }

    private static IEnumerable<(JsonObject Item, int Index)> Items(JsonObject doc, string key, List<string> errors)
    {
        if (doc[key] is null)
        {
            yield break;
        }
        if (doc[key] is not JsonArray list)
        {
            errors.Add($"'{key}' must be a list");
            yield break;
        }
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is JsonObject item)
            {
                yield return (item, i);
            }
            else
            {
                errors.Add($"{key}[{i}]: must be a mapping");
            }
        }
    }

    public static string Export(CatalogSnapshot catalog)
    {
        var doc = new JsonObject
        {
            ["handlers"] = new JsonArray([.. catalog.Handlers.Values.OrderBy(h => h.Id, StringComparer.Ordinal).Select(h => (JsonNode)ToJson(h))]),
            ["offers"] = new JsonArray([.. catalog.Offers.Select(o => (JsonNode)ToJson(o))]),
            ["deals"] = new JsonArray([.. catalog.Deals.Select(d => (JsonNode)ToJson(d))]),
        };
        return YamlJson.Write(doc);
    }

    /// <summary>Collects the problems of one entry, each prefixed with where it is.</summary>
    private sealed class EntryErrors(string where, JsonObject item, List<string> errors, string[] allowed)
    {
        private readonly int _before = Check(errors, where, item, allowed);

        public string Where { get; set; } = where;

        public bool Ok => errors.Count == _before;

        private static int Check(List<string> errors, string where, JsonObject item, string[] allowed)
        {
            var before = errors.Count;
            foreach (var key in item.Select(p => p.Key).Where(k => !allowed.Contains(k)))
            {
                errors.Add($"{where}: unknown key '{key}'");
            }
            return before;
        }

        public void Add(string key, string message) => errors.Add($"{Where}: {key} {message}");

        public string? Str(string key, bool required)
        {
            var node = item[key];
            if (node is null)
            {
                if (required)
                {
                    Add(key, "is required");
                }
                return null;
            }
            if (node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0)
            {
                return s;
            }
            Add(key, "must be a non-empty string");
            return null;
        }

        public int? Int(string key, bool required, int min, int max = int.MaxValue)
        {
            var node = item[key];
            if (node is null)
            {
                if (required)
                {
                    Add(key, "is required");
                }
                return null;
            }
            if (node is JsonValue v && v.TryGetValue<long>(out var n))
            {
                if (n < min || n > max)
                {
                    Add(key, max == int.MaxValue ? $"must be >= {min}" : $"must be between {min} and {max}");
                    return null;
                }
                return (int)n;
            }
            Add(key, "must be a whole number");
            return null;
        }

        public bool? Bool(string key)
        {
            var node = item[key];
            if (node is null)
            {
                return null;
            }
            if (node is JsonValue v && v.TryGetValue<bool>(out var b))
            {
                return b;
            }
            Add(key, "must be true or false");
            return null;
        }
    }
}
