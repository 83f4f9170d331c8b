using System.Data.Common;
using Npgsql;

namespace Switchboard.Credits;

/// <summary>
/// One problem the audit found. <see cref="User"/> (a user's name) or <see cref="RequestId"/>
/// says where; <see cref="Kind"/> is stable (see <see cref="CreditsAudit"/>), the detail is for people.
/// </summary>
public sealed record AuditProblem(string Kind, string? User, string? RequestId, string Detail)
{
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["kind"] = Kind };
        if (User is not null)
        {
            json["user"] = User;
        }
        if (RequestId is not null)
        {
            json["request_id"] = RequestId;
        }
        json["detail"] = Detail;
        return json;
    }
}

public sealed record AuditReport(long Users, long LedgerRows, long Requests, IReadOnlyList<AuditProblem> Problems, bool Truncated)
{
    public bool Ok => Problems.Count == 0;

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["users"] = Users,
            ["ledger_rows"] = LedgerRows,
            ["requests"] = Requests,
            ["problems"] = new JsonArray([.. Problems.Select(p => (JsonNode)p.ToJson())]),
        };
        if (Truncated)
        {
            json["truncated"] = true;
        }
        return json;
    }
}

/// <summary>
/// Proves the money invariants over a whole store, in one read snapshot, with a handful of
/// aggregate queries (no query per row: it reads 100k requests in well under a second). Problem kinds:
/// <list type="bullet">
/// <item><c>balance_mismatch</c>, <c>negative_balance</c> (per user): a balance is the sum of the user's ledger, and never below zero;</item>
/// <item><c>invalid_entry</c>: a ledger row of the wrong sign, a charge or refund without its request (or of a run the request has not reached), a grant or adjustment tied to a request;</item>
/// <item><c>duplicate_charge</c>, <c>duplicate_refund</c>, <c>refund_without_charge</c>, <c>refund_mismatch</c> (per run of a request): at most one of each, and a refund gives back exactly its run's charge;</item>
/// <item><c>missing_charge</c>, <c>charge_mismatch</c> (the current run of a request with a price): charged once, its price;</item>
/// <item><c>missing_refund</c> (current run failed or cancelled, price &gt; 0, not refunded), <c>unexpected_refund</c> (current run queued, running, succeeded or expired, refunded).</item>
/// <item>Deals: the deal is charged like an offer; each step of its current run is refunded its share once when it failed or was cancelled, never otherwise (<c>missing_refund</c>, <c>unexpected_refund</c>, <c>refund_mismatch</c>, naming the step), and a run is never refunded more than it was charged.</item>
/// </list>
/// The first <see cref="MaxPerCheck"/> problems of each check are listed; <c>truncated</c> says there were more.
/// A request pruned by retention or forgotten (Retention/) is checked through its row in
/// <c>requests_pruned</c>: a charge or refund whose request is in neither table is still <c>invalid_entry</c>.
/// </summary>
public static class CreditsAudit
{
    public const int MaxPerCheck = 1000;

    // The per-request checks run on the requests in the store and on what retention kept of the
    // ones it pruned or a user's forget deleted (requests_pruned, migration 20: id, kind, user,
    // last run, its final status and price), so a ledger row outlives its request without losing
    // its checks. Only a deal's per-step refunds need the steps' rows: after pruning, the deal's
    // run is still never refunded more than it was charged.
    private static readonly string[] Tables = ["requests", "requests_pruned"];

    // Each (request, run)'s charge and refund rows, summed: the base of the per-request checks.
    // Only rows tied to a request (the partial index ledger_once covers exactly those). A deal's
    // run has a refund per failed or cancelled step: `refund_keys` counts the distinct ones.
    private const string Runs = """
        SELECT request_seq, run,
            SUM(CASE WHEN kind = 'charge' THEN 1 ELSE 0 END) AS charges,
            SUM(CASE WHEN kind = 'refund' THEN 1 ELSE 0 END) AS refunds,
            COUNT(DISTINCT CASE WHEN kind = 'refund' THEN COALESCE(step, -1) END) AS refund_keys,
            CAST(SUM(CASE WHEN kind = 'charge' THEN amount ELSE 0 END) AS BIGINT) AS charged,
            CAST(SUM(CASE WHEN kind = 'refund' THEN amount ELSE 0 END) AS BIGINT) AS refunded
        FROM ledger WHERE request_seq IS NOT NULL GROUP BY request_seq, run
        """;

    /// <summary>Audits the store behind <paramref name="connection"/> (an open connection not in a transaction).</summary>
    public static AuditReport Run(DbConnection connection)
    {
        // One snapshot for every query, so a server writing meanwhile cannot make a consistent
        // store look inconsistent. On SQLite a deferred BEGIN takes no lock: WAL readers never block the writer.
        SqlExtensions.Exec(connection, connection is NpgsqlConnection ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
        try
        {
            var problems = new List<AuditProblem>();
            var truncated = false;
            var users = connection.Scalar<long>("SELECT COUNT(*) FROM users");
            var ledgerRows = connection.Scalar<long>("SELECT COUNT(*) FROM ledger");
            var requests = connection.Scalar<long>("SELECT COUNT(*) FROM requests");

            void Check(string sql, Func<DbDataReader, AuditProblem> problem)
            {
                using var command = connection.Sql(sql + $" LIMIT {MaxPerCheck + 1}");
                using var reader = command.ExecuteReader();
                var found = 0;
                while (reader.Read())
                {
                    if (++found > MaxPerCheck)
                    {
                        truncated = true;
                        break;
                    }
                    problems.Add(problem(reader));
                }
            }

            Check(
                """
                SELECT u.name, u.credits, COALESCE(s.total, 0)
                FROM users u LEFT JOIN (SELECT user_id, CAST(SUM(amount) AS BIGINT) AS total FROM ledger GROUP BY user_id) s ON s.user_id = u.id
                WHERE u.credits <> COALESCE(s.total, 0) OR u.credits < 0
                ORDER BY u.name
                """,
                r => r.GetInt64(1) < 0
                    ? new AuditProblem("negative_balance", r.GetString(0), null, $"the balance is {r.GetInt64(1)} (the ledger sums to {r.GetInt64(2)})")
                    : new AuditProblem("balance_mismatch", r.GetString(0), null, $"the balance is {r.GetInt64(1)} but the ledger sums to {r.GetInt64(2)}"));

            Check(
                """
                SELECT l.id, l.kind, l.amount, l.request_id, l.run, u.name, COALESCE(r.run, p.run)
                FROM ledger l
                JOIN users u ON u.id = l.user_id
                LEFT JOIN requests r ON r.seq = l.request_seq
                LEFT JOIN requests_pruned p ON p.seq = l.request_seq AND r.seq IS NULL
                WHERE (l.kind = 'charge' AND l.amount >= 0)
                   OR (l.kind IN ('refund', 'grant') AND l.amount <= 0)
                   OR (l.kind = 'adjust' AND l.amount = 0)
                   OR (l.kind IN ('charge', 'refund') AND (COALESCE(r.seq, p.seq) IS NULL OR l.run IS NULL OR l.run < 1
                       OR l.run > COALESCE(r.run, p.run) OR COALESCE(r.user_id, p.user_id) <> l.user_id))
                   OR (l.kind IN ('grant', 'adjust') AND l.request_seq IS NOT NULL)
                   OR (l.step IS NOT NULL AND (l.kind <> 'refund' OR COALESCE(r.kind, p.kind) <> 'deal'))
                ORDER BY l.id
                """,
                r => new AuditProblem(
                    "invalid_entry", r.GetString(5), r.StringOrNull(3),
                    $"ledger row {r.GetInt64(0)}: {r.GetString(1)} of {r.GetInt64(2)}"
                    + (r.IsDBNull(4) ? "" : $" for run {r.GetInt32(4)}")
                    + (r.IsDBNull(6) ? (r.IsDBNull(3) ? "" : " of a request not in the store") : $" (the request is at run {r.GetInt64(6)})")));

            foreach (var table in Tables)
            {
                Check(
                    $"""
                    SELECT r.id, g.run, g.charges, g.refunds, g.charged, g.refunded, g.refund_keys
                    FROM ({Runs}) g JOIN {table} r ON r.seq = g.request_seq
                    WHERE g.charges > 1 OR g.refunds > g.refund_keys OR (g.refunds > 0 AND g.charges = 0)
                       OR (r.kind <> 'deal' AND g.charges = 1 AND g.refunds = 1 AND g.refunded <> -g.charged)
                       OR (r.kind = 'deal' AND g.refunded > -g.charged)
                    ORDER BY g.request_seq, g.run
                    """,
                    r =>
                    {
                        var (run, charges, refunds, charged, refunded) = (r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5));
                        return charges > 1 ? new AuditProblem("duplicate_charge", null, r.GetString(0), $"run {run} is charged {charges} times ({-charged} credits)")
                            : refunds > r.GetInt64(6) ? new AuditProblem("duplicate_refund", null, r.GetString(0), $"run {run} is refunded {refunds} times ({refunded} credits)")
                            : charges == 0 ? new AuditProblem("refund_without_charge", null, r.GetString(0), $"run {run} is refunded {refunded} credits but was never charged")
                            : new AuditProblem("refund_mismatch", null, r.GetString(0), $"run {run} was charged {-charged} credits but refunded {refunded}");
                    });
            }

            // The current run of each request: requests in seq order, each joined to its run's
            // rows through ledger_once (grouping by the primary key needs no sort). Steps are
            // never charged (their deal is); a deal's refunds are checked per step below.
            foreach (var table in Tables)
            {
                Check(
                    $"""
                    SELECT r.id, r.status, r.price, r.run,
                        COUNT(CASE WHEN l.kind = 'charge' THEN 1 END),
                        COUNT(CASE WHEN l.kind = 'refund' THEN 1 END),
                        CAST(COALESCE(SUM(CASE WHEN l.kind = 'charge' THEN l.amount END), 0) AS BIGINT)
                    FROM {table} r LEFT JOIN ledger l ON l.request_seq = r.seq AND l.run = r.run
                    WHERE r.kind <> 'step'
                    GROUP BY r.seq
                    HAVING (r.price > 0 AND COUNT(CASE WHEN l.kind = 'charge' THEN 1 END) = 0)
                       OR (COUNT(CASE WHEN l.kind = 'charge' THEN 1 END) = 1 AND SUM(CASE WHEN l.kind = 'charge' THEN l.amount END) <> -r.price)
                       OR (r.kind <> 'deal' AND r.price > 0 AND r.status IN ('failed', 'cancelled') AND COUNT(CASE WHEN l.kind = 'refund' THEN 1 END) = 0)
                       OR (r.kind <> 'deal' AND r.status IN ('queued', 'running', 'succeeded', 'expired') AND COUNT(CASE WHEN l.kind = 'refund' THEN 1 END) > 0)
                    ORDER BY r.seq
                    """,
                    r =>
                    {
                        var (id, status, price, run) = (r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3));
                        var (charges, refunds, charged) = (r.GetInt64(4), r.GetInt64(5), r.GetInt64(6));
                        return price > 0 && charges == 0 ? new AuditProblem("missing_charge", null, id, $"run {run} ({status}) has a price of {price} but no charge")
                            : charges == 1 && charged != -price ? new AuditProblem("charge_mismatch", null, id, $"run {run} ({status}) has a price of {price} but was charged {-charged}")
                            : refunds == 0 ? new AuditProblem("missing_refund", null, id, $"run {run} is {status} but its {price} credits were not refunded")
                            : new AuditProblem("unexpected_refund", null, id, $"run {run} is {status} but was refunded");
                    });
            }

            // Each step of a deal's current run: refunded its share exactly once when it failed or
            // was cancelled (and has a share), never otherwise.
            Check(
                """
                SELECT d.id, s.step, s.status, s.price, COUNT(l.id), CAST(COALESCE(SUM(l.amount), 0) AS BIGINT)
                FROM requests s
                JOIN requests d ON d.id = s.parent AND d.run = s.run
                LEFT JOIN ledger l ON l.request_seq = d.seq AND l.run = d.run AND l.kind = 'refund' AND l.step = s.step
                WHERE s.kind = 'step'
                GROUP BY s.seq, d.seq
                HAVING (s.price > 0 AND s.status IN ('failed', 'cancelled') AND (COUNT(l.id) <> 1 OR COALESCE(SUM(l.amount), 0) <> s.price))
                   OR (s.status NOT IN ('failed', 'cancelled') AND COUNT(l.id) > 0)
                ORDER BY s.seq
                """,
                r =>
                {
                    var (deal, step, status, share, refunds, refunded) = (r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5));
                    return status is not ("failed" or "cancelled") ? new AuditProblem("unexpected_refund", null, deal, $"step {step} is {status} but was refunded {refunded}")
                        : refunds == 0 ? new AuditProblem("missing_refund", null, deal, $"step {step} is {status} but its share of {share} credits was not refunded")
                        : new AuditProblem("refund_mismatch", null, deal, $"step {step} ({status}) has a share of {share} but was refunded {refunded} in {refunds} rows");
                });

            return new AuditReport(users, ledgerRows, requests, problems, truncated);
        }
        finally
        {
            SqlExtensions.Exec(connection, "ROLLBACK");
        }
    }
}
