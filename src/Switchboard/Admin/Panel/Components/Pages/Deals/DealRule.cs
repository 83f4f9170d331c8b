using Switchboard.Catalog;

namespace Switchboard.Admin.Panel.Components.Pages.Deals;

/// <summary>A deal's price rule in a few words: a fixed price, a percentage off the list, or the list price.</summary>
public static class DealRule
{
    public static string Of(DealEntry d) =>
        d.Price is { } fixedPrice ? $"fixed {fixedPrice}" : d.PriceModifier > 0 ? $"list − {d.PriceModifier}%" : "list price";
}
