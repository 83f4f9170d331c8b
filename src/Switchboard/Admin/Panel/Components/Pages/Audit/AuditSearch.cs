using Switchboard.Audit;

namespace Switchboard.Admin.Panel.Components.Pages.Audit;

/// <summary>
/// The audit page's query: its filters read from the URL by <see cref="AuditQuery.Parse"/> (the
/// admin API's and the CLI's reading, so a filter means the same everywhere), a page of rows
/// newest first, and the link to the next, older page.
/// </summary>
internal sealed class AuditSearch
{
    /// <summary>Rows on one page.</summary>
    public const int PageSize = 50;

    /// <summary>The query's fields the page shows as inputs, in order.</summary>
    public static readonly string[] Fields = ["actor", "action", "target", "since", "until"];

    public required IReadOnlyDictionary<string, string> Values { get; init; }

    public FieldErrors? Errors { get; init; }

    public List<AuditEntry> Rows { get; init; } = [];

    public string? Older { get; init; }

    public static AuditSearch Run(IQueryCollection query, Store store, long nowMs)
    {
        // An empty input of the GET form is no filter.
        string? Value(string name) => query[name].ToString() is { Length: > 0 } text ? text : null;
        var values = Fields.ToDictionary(f => f, f => query[f].ToString(), StringComparer.Ordinal);
        var (filter, errors) = AuditQuery.Parse(name => name == "limit" ? null : Value(name), nowMs);
        if (filter is null)
        {
            return new AuditSearch { Values = values, Errors = FieldErrors.From(errors, [.. Fields, "before"]) };
        }
        filter = filter with { Limit = PageSize };
        using var connection = store.Open();
        var rows = AuditLog.Read(connection, filter);
        return new AuditSearch
        {
            Values = values,
            Rows = rows,
            Older = rows.Count == PageSize ? Link(values, rows[^1].Id) : null,
        };
    }

    private static string Link(IReadOnlyDictionary<string, string> values, long before) =>
        "/admin/audit" + QueryString.Create(values.Where(v => v.Value.Length > 0).Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))
            .Append(KeyValuePair.Create("before", (string?)before.ToString(System.Globalization.CultureInfo.InvariantCulture))));
}
