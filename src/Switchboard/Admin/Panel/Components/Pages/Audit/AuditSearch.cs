using System.Globalization;
using Switchboard.Audit;

namespace Switchboard.Admin.Panel.Components.Pages.Audit;

/// <summary>
/// The audit page's query: its filters read from the URL by <see cref="AuditQuery.Parse"/> (the
/// admin API's and the CLI's reading, so a filter means the same everywhere), a page of rows
/// newest first, and the link to the next, older page.
/// </summary>
internal sealed class AuditSearch
{
    private const int PageSize = 50;

    /// <summary>The query's fields the page shows as inputs, in order: name, label, placeholder.</summary>
    public static readonly (string Name, string Label, string? Placeholder)[] Inputs =
    [
        ("actor", "Actor", null), ("action", "Action", "POST /admin/users/{name}/credits"), ("target", "Target", null),
        ("since", "From (UTC)", "2026-01-31T12:00:00Z or 24h"), ("until", "To (UTC)", "2026-02-01T00:00:00Z or 1h"),
    ];

    public required IReadOnlyDictionary<string, string> Values { get; init; }
    public FieldErrors? Errors { get; init; }
    public List<AuditEntry> Rows { get; init; } = [];
    public string? Older { get; init; }

    public static AuditSearch Run(IQueryCollection query, Store store, long nowMs)
    {
        var values = Inputs.ToDictionary(i => i.Name, i => query[i.Name].ToString(), StringComparer.Ordinal);
        // An empty input of the GET form is no filter.
        var (filter, errors) = AuditQuery.Parse(name => name != "limit" && query[name].ToString() is { Length: > 0 } text ? text : null, nowMs);
        if (filter is null)
        {
            return new AuditSearch { Values = values, Errors = FieldErrors.From(errors, [.. values.Keys, "before"]) };
        }
        using var connection = store.Open();
        var rows = AuditLog.Read(connection, filter with { Limit = PageSize });
        return new AuditSearch { Values = values, Rows = rows, Older = rows.Count == PageSize ? Link(values, rows[^1].Id) : null };
    }

    private static string Link(IReadOnlyDictionary<string, string> values, long before) =>
        "/admin/audit" + QueryString.Create(values.Where(v => v.Value.Length > 0).Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))
            .Append(KeyValuePair.Create("before", (string?)before.ToString(CultureInfo.InvariantCulture))));
}
