namespace Switchboard.Audit;

/// <summary>
/// <c>GET /admin/api/audit?actor=&amp;action=&amp;target=&amp;since=&amp;until=&amp;limit=&amp;before=</c>:
/// the audit trail, newest first, a page at a time (<c>next_before</c> is the <c>before</c> of
/// the next page, null on the last).
/// </summary>
public static class AuditAdminEndpoints
{
    public static void MapAuditAdmin(this RouteGroupBuilder admin) =>
        admin.MapGet("/audit", Read).Describe("audit", "read_audit", "The audit trail of admin actions").AnswersJson(200, 400);

    private static IResult Read(HttpContext http, Store store)
    {
        var query = http.Request.Query;
        var (filter, errors) = AuditQuery.Parse(name => query.TryGetValue(name, out var v) ? v.ToString() : null, Clock.NowMs());
        if (filter is null)
        {
            return Problems.Of(400, "invalid_query", "Invalid audit query", string.Join("; ", errors), new Dictionary<string, object?> { ["errors"] = errors });
        }
        using var connection = store.Open();
        return TypedResults.Ok(AuditLog.Page(AuditLog.Read(connection, filter), filter.Limit));
    }
}
