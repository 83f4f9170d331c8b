using System.Globalization;
using System.Text.Json.Nodes;

namespace Switchboard.Admin.Panel.Components.Pages.Catalog;

/// <summary>Form text as the catalog's JSON entries take it, so the shared validator judges what was typed.</summary>
public static class CatalogJson
{
    /// <summary>
    /// A number field: a whole number when the text is one, the text itself otherwise (so the
    /// validator says what is wrong with it, e.g. "price must be an integer"), null when empty.
    /// </summary>
    public static JsonNode? Number(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null
        : long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? JsonValue.Create(n)
        : JsonValue.Create(text.Trim());

    /// <summary>Sets <paramref name="key"/> to the number of <paramref name="text"/>, unless empty.</summary>
    public static void SetNumber(JsonObject entry, string key, string? text)
    {
        if (Number(text) is { } n)
        {
            entry[key] = n;
        }
    }

    public static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);
}
