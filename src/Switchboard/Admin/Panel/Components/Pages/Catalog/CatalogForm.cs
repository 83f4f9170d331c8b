using System.Globalization;
using System.Text.Json.Nodes;

namespace Switchboard.Admin.Panel.Components.Pages.Catalog;

/// <summary>
/// The base of the offer and deal forms: every field is text as typed, so a refused form comes back as it was
/// sent and the catalog's validator (<see cref="Switchboard.Catalog.CatalogEdits"/>) says what is wrong with a price "abc".
/// </summary>
public abstract class CatalogForm
{
    /// <summary>"true" when the checkbox is ticked; absent when not.</summary>
    public string? Enabled { get; set; }

    public bool IsEnabled => Enabled == "true";

    /// <summary>
    /// Sets the entry's number fields: a whole number when the text is one, the text itself otherwise (so the
    /// validator says what is wrong with it, e.g. "price must be an integer"), left out when empty.
    /// </summary>
    protected static void SetNumbers(JsonObject entry, params (string Key, string? Text)[] fields)
    {
        foreach (var (key, text) in fields)
        {
            if (text?.Trim() is { Length: > 0 } typed)
            {
                entry[key] = long.TryParse(typed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                    ? JsonValue.Create(n) : JsonValue.Create(typed);
            }
        }
    }

    protected static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);
}
