using System.Globalization;
using Switchboard.Requests;

namespace Switchboard.Admin.Panel.Components.Pages.Requests;

/// <summary>
/// A search of the Requests page as the query string holds it: the raw values (shown back in the
/// filters as typed), the filter <see cref="RequestAdmin.ParseFilter"/> makes of them, its errors,
/// and the same search as a query string for the links that carry it (older page, bulk actions, CSV).
/// </summary>
public sealed class RequestSearch
{
    /// <summary>The filters a search carries; <c>before</c> is the page cursor, kept only by the pager.</summary>
    public static readonly string[] Fields = ["status", "user", "offer", "deal", "from", "to", "before"];

    private readonly Func<string, string> _raw;

    private RequestSearch(Func<string, string> raw, RequestFilter? filter, List<string> errors) =>
        (_raw, Filter, Errors) = (raw, filter, errors);

    /// <summary>The filter; null when a value is malformed (<see cref="Errors"/> say which).</summary>
    public RequestFilter? Filter { get; }

    public IReadOnlyList<string> Errors { get; }

    /// <summary>The page size is fixed in the panel: a <c>limit</c> in the query is ignored.</summary>
    public static RequestSearch Of(Func<string, string> raw)
    {
        var errors = new List<string>();
        var filter = RequestAdmin.ParseFilter(name => name == "limit" ? null : raw(name), errors);
        return new RequestSearch(raw, filter, errors);
    }

    public static RequestSearch Of(IQueryCollection query) => Of(name => query[name].ToString());

    /// <summary>A value as it was typed.</summary>
    public string Raw(string name) => _raw(name);

    /// <summary>Whether any filter is set (an empty list then says "no match", not "no requests yet").</summary>
    public bool Filtered => Fields.Any(f => Raw(f).Length > 0);

    /// <summary>The search as a query string (no "?"), without the page cursor unless asked, with <paramref name="extra"/> after.</summary>
    public string QueryString(bool withCursor = false, params (string Name, string Value)[] extra) =>
        string.Join("&", Fields.Where(f => (withCursor || f != "before") && Raw(f).Length > 0)
            .Select(f => (f, Raw(f))).Concat(extra)
            .Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2)}"));

    /// <summary><paramref name="path"/> with the search's query (no cursor).</summary>
    public string Link(string path, params (string Name, string Value)[] extra) =>
        QueryString(false, extra) is { Length: > 0 } q ? $"{path}?{q}" : path;

    public static string N(long n) => n.ToString("#,0", CultureInfo.InvariantCulture);
}
