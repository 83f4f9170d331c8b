using System.Runtime.Serialization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Admin.Panel.Components.Pages.Catalog;
using Switchboard.Catalog;

namespace Switchboard.Admin.Panel.Components.Pages.Offers;

/// <summary>
/// The offer form as typed (every field text, the params as JSON text), so a refused form comes
/// back as it was sent and the shared validator says what is wrong with a price "abc".
/// </summary>
public sealed class OfferForm
{
    /// <summary>The input names, as the validator's messages name the fields.</summary>
    public static readonly string[] Fields = ["service", "action", "handler", "price", "prompt_template", "create_qty", "expiration", "params", "enabled"];

    // Shown by Razor, which encodes it: the JSON need not escape '<' as \u003C, so an admin reads what was stored.
    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string? Service { get; set; }

    public string? Action { get; set; }

    public string? Handler { get; set; }

    public string? Price { get; set; }

    [DataMember(Name = "prompt_template")]
    public string? PromptTemplate { get; set; }

    [DataMember(Name = "create_qty")]
    public string? CreateQty { get; set; }

    public string? Expiration { get; set; }

    public string? Params { get; set; }

    /// <summary>"true" when the checkbox is ticked; absent when not.</summary>
    public string? Enabled { get; set; }

    /// <summary>Set by the Preview button: show what the values make, save nothing.</summary>
    public string? Preview { get; set; }

    public bool IsEnabled => Enabled == "true";

    public static OfferForm Empty() => new() { CreateQty = "1", Enabled = "true" };

    public static OfferForm Of(OfferEntry o) => new()
    {
        Service = o.Service,
        Action = o.Action,
        Handler = o.Handler,
        Price = CatalogJson.Text(o.Price),
        PromptTemplate = o.Template.Source,
        CreateQty = CatalogJson.Text(o.CreateQty),
        Expiration = o.Expiration is { } x ? CatalogJson.Text(x) : "",
        Params = o.Params.Count == 0 ? "" : o.Params.ToJsonString(Indented),
        Enabled = o.Enabled ? "true" : null,
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
        CatalogJson.SetNumber(entry, "price", Price);
        CatalogJson.SetNumber(entry, "create_qty", CreateQty);
        CatalogJson.SetNumber(entry, "expiration", Expiration);
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
    public static FieldErrors Errors(IEnumerable<string> messages, string? paramsError)
    {
        var found = FieldErrors.From(messages, Fields) ?? new FieldErrors();
        if (paramsError is null)
        {
            return found;
        }
        var errors = new FieldErrors();
        foreach (var message in found.General ?? [])
        {
            errors.Add("", message);
        }
        foreach (var field in Fields.Where(f => f != "params"))
        {
            foreach (var message in found.For(field) ?? [])
            {
                errors.Add(field, message);
            }
        }
        return errors.Add("params", paramsError);
    }
}
