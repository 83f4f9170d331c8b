using System.Text.Json.Nodes;
using Switchboard.Storage;

namespace Switchboard.Tests.Infrastructure;

/// <summary>One row of <c>requests</c> (a deal or a step) as the crash tests compare it before and after a kill.</summary>
public sealed record DealRow(
    string Id, string Kind, string? Parent, int? Step, string Status, int Attempts, string? Results, long? StartedAt, long? FinishedAt)
{
    /// <summary>The results as strings (echo.render's), empty when there are none.</summary>
    public List<string> ResultList => Results is null ? [] : [.. JsonNode.Parse(Results)!.AsArray().Select(r => r!.GetValue<string>())];
}

/// <summary>Reads deals and their steps straight from the store, for assertions the API does not show exactly (attempts, millisecond times).</summary>
public static class DealRows
{
    /// <summary>Every deal and step row, by id.</summary>
    public static Dictionary<string, DealRow> Read(TestStore store) => store.Query(c =>
    {
        using var command = c.Sql(
            "SELECT id, kind, parent, step, status, attempts, results, started_at, finished_at FROM requests WHERE kind IN ('deal', 'step')");
        using var reader = command.ExecuteReader();
        var rows = new Dictionary<string, DealRow>(StringComparer.Ordinal);
        while (reader.Read())
        {
            var row = new DealRow(reader.GetString(0), reader.GetString(1), reader.StringOrNull(2), reader.IntOrNull(3), reader.GetString(4),
                reader.GetInt32(5), reader.StringOrNull(6), reader.LongOrNull(7), reader.LongOrNull(8));
            rows[row.Id] = row;
        }
        return rows;
    });

    /// <summary>How many steps at place <paramref name="step"/> (of any deal) have this status.</summary>
    public static long Count(TestStore store, int step, string status) => store.Query(c => c.Scalar<long>(
        "SELECT COUNT(*) FROM requests WHERE kind = 'step' AND step = @step AND status = @status", ("@step", step), ("@status", status)));

    /// <summary>A deal's steps in order.</summary>
    public static List<DealRow> StepsOf(IReadOnlyDictionary<string, DealRow> rows, string dealId) =>
        [.. rows.Values.Where(r => r.Parent == dealId).OrderBy(r => r.Step)];

    /// <summary>
    /// Each step of a pipeline started only after the step before it had finished: a step
    /// becomes claimable in the same unit as its predecessor's success, never before.
    /// </summary>
    public static void AssertRanInOrder(IReadOnlyList<DealRow> steps)
    {
        for (var i = 1; i < steps.Count; i++)
        {
            Assert.True(steps[i].StartedAt >= steps[i - 1].FinishedAt,
                $"step {steps[i].Step} of deal {steps[i].Parent} started at {steps[i].StartedAt}, before step {steps[i - 1].Step} finished at {steps[i - 1].FinishedAt}");
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static Task WaitUntil(Func<bool> condition, TimeSpan timeout, Func<string> what) => Wait.Until(condition, timeout, what);
}
