using System.Runtime.Serialization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Admin.Panel.Components.Pages.Catalog;
using Switchboard.Catalog;

namespace Switchboard.Admin.Panel.Components.Pages.Offers;

/// <summary>The offer form as typed, the params as JSON text.</summary>
public sealed class OfferForm : CatalogForm
{
    /// <summary>The input names, as the validator's messages name the fields.</summary>
    public static readonly string[] Fields =
        ["service", "action", "handler", "price", "prompt_template", "create_qty", "expiration", "params", "enabled"];

    // Shown by Razor, which encodes it: the JSON need not escape '<' as \u003C, so an admin reads what was stored.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string? Service { get; set; }
    public string? Action { get; set; }
    public string? Handler { get; set; }
    public string? Price { get; set; }
    [DataMember(Name = "prompt_template")] public string? PromptTemplate { get; set; }
    [DataMember(Name = "create_qty")] public string? CreateQty { get; set; }
    public string? Expiration { get; set; }
    public string? Params { get; set; }

    /// <summary>Set by the Preview button: show what the values make, save nothing.</summary>
    public string? Preview { get; set; }

    public static OfferForm Empty() => new() { CreateQty = "1", Enabled = "true" };

    public static OfferForm Of(OfferEntry o) => new()
    {
        Service = o.Service, Action = o.Action, Handler = o.Handler, Price = Text(o.Price), PromptTemplate = o.Template.Source,
        CreateQty = Text(o.CreateQty), Expiration = o.Expiration is { } x ? Text(x) : "",
        Params = o.Params.Count == 0 ? "" : o.Params.ToJsonString(Indented), Enabled = o.Enabled ? "true" : null,
    };

    /// <summary>
    /// The catalog entry for <see cref="CatalogEdits.SaveOffer"/>, and the params' JSON error when
    /// they do not parse (then they go as text: the validator refuses them too, nothing is saved).
    /// </summary>
    public (JsonObject Entry, string? ParamsError) ToEntry()
    {
        var entry = new JsonObject { ["handler"] = Handler ?? "", ["enabled"] = IsEnabled };
        if (!string.IsNullOrEmpty(PromptTemplate))
        {
            entry["prompt_template"] = PromptTemplate;
        }
        SetNumbers(entry, ("price", Price), ("create_qty", CreateQty), ("expiration", Expiration));
        if (string.IsNullOrWhiteSpace(Params))
        {
            return (entry, null);
        }
        try
        {
            entry["params"] = JsonNode.Parse(Params);
            return (entry, null);
        }
        catch (JsonException ex)
        {
            entry["params"] = Params;
            return (entry, $"is not valid JSON ({ex.Message})");
        }
    }

    /// <summary>The validator's messages by field; a params error of JSON replaces what it said of the text.</summary>
    public static FieldErrors Errors(IEnumerable<string> messages, string? paramsError) => paramsError is null
        ? FieldErrors.From(messages, Fields) ?? new()
        : (FieldErrors.From(messages.Where(m => FieldErrors.From([m], Fields)?.For("params") is null), Fields) ?? new()).Add("params", paramsError);

    /// <summary>A request body for a template's inputs, each "…".</summary>
    public static string Example(PromptTemplate template) =>
        new JsonObject(template.Variables.Distinct().Select(name => KeyValuePair.Create(name, (JsonNode?)"…"))).ToJsonString(Indented);
}
