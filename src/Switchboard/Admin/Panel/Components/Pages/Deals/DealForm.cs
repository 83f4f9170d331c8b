using System.Globalization;
using System.Runtime.Serialization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchboard.Admin.Panel.Components.Pages.Catalog;
using Switchboard.Catalog;

namespace Switchboard.Admin.Panel.Components.Pages.Deals;

/// <summary>The deal form as typed: the items and add-ons as lines of "service/action mode".</summary>
public sealed partial class DealForm : CatalogForm
{
    /// <summary>The input names, as the validator's messages name the fields.</summary>
    public static readonly string[] Fields = ["name", "offers", "price", "price_modifier", "addons", "addons_modifier", "enabled"];

    public string? Name { get; set; }
    public string? Offers { get; set; }
    public string? Price { get; set; }
    [DataMember(Name = "price_modifier")] public string? PriceModifier { get; set; }
    public string? Addons { get; set; }
    [DataMember(Name = "addons_modifier")] public string? AddonsModifier { get; set; }

    public static DealForm Empty() => new() { PriceModifier = "0", AddonsModifier = "0", Enabled = "true" };

    public static DealForm Of(DealEntry d) => new()
    {
        Name = d.Name, Offers = Lines(d.Offers), Price = d.Price is { } p ? Text(p) : "", PriceModifier = Text(d.PriceModifier),
        Addons = Lines(d.Addons), AddonsModifier = Text(d.AddonsModifier), Enabled = d.Enabled ? "true" : null,
    };

    private static string Lines(IEnumerable<DealItem> items) => string.Join("\n", items.Select(i => $"{i.Offer} {i.Pipeline}"));

    /// <summary>The catalog entry for <see cref="CatalogEdits.SaveDeal"/>.</summary>
    public JsonObject ToEntry()
    {
        var entry = new JsonObject { ["enabled"] = IsEnabled };
        if (!string.IsNullOrWhiteSpace(Offers))
        {
            entry["offers"] = ItemsOf(Offers);
        }
        entry["addons"] = ItemsOf(Addons ?? "");
        SetNumbers(entry, ("price", Price), ("price_modifier", PriceModifier), ("addons_modifier", AddonsModifier));
        return entry;
    }

    /// <summary>The item lines of a textarea as the catalog's <c>[{offer, pipeline}]</c>; a line of more words goes whole, to be refused.</summary>
    private static JsonArray ItemsOf(string text) =>
    [
        .. text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(line =>
            line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) switch
            {
                [var offer] => new JsonObject { ["offer"] = offer },
                [var offer, var mode] => new JsonObject { ["offer"] = offer, ["pipeline"] = mode },
                _ => new JsonObject { ["offer"] = line },
            }),
    ];

    /// <summary>The validator's messages by field, "offers[1] unknown offer …" naming a line of the field: "line 2: unknown offer …".</summary>
    public static FieldErrors? Errors(IEnumerable<string> messages) =>
        FieldErrors.From(messages.Select(e => ItemPlace().Replace(e, m =>
            $"{m.Groups[1].Value} line {int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) + 1}: ")), Fields);

    [GeneratedRegex(@"^(offers|addons)\[(\d+)\] ")]
    private static partial Regex ItemPlace();
}
