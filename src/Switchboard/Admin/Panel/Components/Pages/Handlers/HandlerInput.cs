using System.Globalization;
using System.Text.Json.Nodes;
using Switchboard.Catalog;

namespace Switchboard.Admin.Panel.Components.Pages.Handlers;

/// <summary>
/// The handler form as typed. Strings, so that the catalog's own check (<see cref="CatalogEdits"/>,
/// the same as <c>catalog apply</c>'s) says what is wrong with a credits of "abc".
/// </summary>
public sealed class HandlerInput
{
    public static readonly string[] Fields = ["id", "credits", "resource", "enabled"];

    public string? Id { get; set; }
    public string? Credits { get; set; }
    public string? Resource { get; set; }

    /// <summary>"true" when the box is ticked; a form without it is a handler turned off.</summary>
    public string? Enabled { get; set; }

    public bool IsEnabled => Enabled == "true";

    /// <summary>The form of a handler as stored (credits per call; per-unit rates stay in the catalog file).</summary>
    public static HandlerInput Of(HandlerEntry h) =>
        new() { Id = h.Id, Credits = h.Credits.ToString(CultureInfo.InvariantCulture), Resource = h.Resource, Enabled = h.Enabled ? "true" : null };

    /// <summary>A new handler's form: one credit, enabled.</summary>
    public static HandlerInput New() => new() { Credits = "1", Enabled = "true" };

    /// <summary>Saves the form as handler <paramref name="id"/>, keeping <paramref name="stored"/>'s per-unit rates; null when saved.</summary>
    public async Task<FieldErrors?> Save(Store store, IReadOnlySet<string> implementations, string id, HandlerEntry? stored = null)
    {
        var entry = new JsonObject { ["id"] = id, ["enabled"] = IsEnabled };
        if (Number(Credits) is { } credits)
        {
            entry["credits"] = stored is { PerUnit.Count: > 0 } && credits is JsonValue perCall
                ? new JsonObject { ["per_call"] = perCall, ["per"] = CatalogDocument.ToJson(stored)["credits"]!["per"]!.DeepClone() }
                : credits;
        }
        if ((Resource ?? "").Trim() is { Length: > 0 } resource)
        {
            entry["resource"] = resource;
        }
        var edit = await CatalogEdits.SaveHandler(store, implementations, id, entry);
        return edit.Saved ? null : FieldErrors.From(edit.Errors, Fields);
    }

    // A whole number when the text is one, else the text itself, so the catalog's check names what is wrong with it.
    private static JsonNode? Number(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null
        : long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? JsonValue.Create(n)
        : JsonValue.Create(text.Trim());
}
