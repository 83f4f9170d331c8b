using System.Globalization;
using System.Text;
using Switchboard.Recon;
using Switchboard.Storage;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// The dashboard: the requests of the last 24 clock hours as a server-rendered SVG chart
/// (<see cref="HourlyRequestCounts"/>), and the health snapshot that <c>GET /admin/api/health</c>
/// shows (the same <see cref="HealthProbe"/>): queues, live executors, resource slots and
/// budgets, alerts firing (<see cref="AlertBoard"/>).
/// </summary>
public static class Dashboard
{
    internal const int Hours = 24;

    public static async Task<string> Render(IServiceProvider services)
    {
        var snapshot = await services.GetRequiredService<HealthProbe>().TakeAsync();
        var report = AlertBoard.Current(services);
        var firing = report?.Firing;
        var (total, failed) = services.GetRequiredService<HourlyRequestCounts>().Last(snapshot.AtMs);
        var depth = snapshot.QueuesByHandler.Sum(q => q.Depth);
        var oldest = snapshot.QueuesByHandler.Count == 0 ? 0 : snapshot.QueuesByHandler.Max(q => q.OldestAgeSeconds);
        var body = new StringBuilder();
        body.Append("""<section class="tiles">""");
        var minutes = Enumerable.Range(0, Hours).Sum(h => MinutesOf(h, snapshot.AtMs));
        Tile(body, "Requests, 24 h", total.Sum().ToString(CultureInfo.InvariantCulture), $"{total.Sum() / minutes:0.###} per minute on average");
        Tile(body, "Failures, 24 h", failed.Sum().ToString(CultureInfo.InvariantCulture), total.Sum() == 0 ? "none yet" : $"{100.0 * failed.Sum() / total.Sum():0.#}% of requests", failed.Sum() > 0 ? "warn" : "");
        Tile(body, "Queue depth", depth.ToString(CultureInfo.InvariantCulture), $"oldest waiting {Age(oldest)}");
        Tile(body, "Live executors", snapshot.Executors?.Count.ToString(CultureInfo.InvariantCulture) ?? "?",
            snapshot.Executors is null ? "registry unreachable" : $"{snapshot.Executors.Sum(e => e.InFlight)} jobs in flight", snapshot.Executors is { Count: > 0 } ? "" : "warn");
        Tile(body, "Alerts firing", firing?.Count.ToString(CultureInfo.InvariantCulture) ?? "–", firing is null ? "no recon has reported" : report!.Stale ? $"as of {Clock.Iso(report.ReportedAtMs)}" : firing.Count == 0 ? "all clear" : "see below", firing is { Count: > 0 } ? "bad" : "");
        body.Append("</section>");

        body.Append("""<section class="card"><div class="card-head"><h2>Requests per minute, last 24 h</h2><span class="legend"><i class="ok"></i>succeeded or pending <i class="fail"></i>failed</span></div>""");
        body.Append(Chart(total, failed, snapshot.AtMs));
        body.Append("</section>");

        body.Append("""<div class="grid2"><section class="card"><h2>Resources</h2>""");
        if (snapshot.Resources is not { Count: > 0 } resources)
        {
            body.Append("""<p class="muted">No resources configured.</p>""");
        }
        else
        {
            foreach (var r in resources)
            {
                var ratio = Math.Clamp(r.UsedRatio ?? 0, 0, 1);
                var budget = r.Credits is null ? $"{r.Spent} spent, no budget" : $"{r.Spent} of {r.Credits} credits";
                body.Append($"""
                    <div class="bar-row"><div class="bar-label"><b>{E(r.Name)}</b><span>{E(budget)} · {E(r.InUse)} in use · {E(r.Waiting)} waiting</span></div>
                    <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="presentation"><rect class="fill{(ratio >= 0.9 ? " bad" : ratio >= 0.7 ? " warn" : "")}" width="{(ratio * 100).ToString("0.#", CultureInfo.InvariantCulture)}" height="8"/></svg></div>
                    """);
            }
        }
        body.Append("""</section><section class="card"><h2>Alerts firing</h2>""");
        if (report is null)
        {
            body.Append("""<p class="muted">No recon has reported alerts to this store yet: start one (<code>serve</code> runs its own, or the <code>recon</code> role).</p>""");
        }
        else if (report.Stale)
        {
            body.Append($"""<p class="alert">The recon last reported at {E(Clock.Iso(report.ReportedAtMs))}: none is leading now, or it cannot reach the store. What it reported then:</p>""");
        }
        if (firing is { Count: 0 })
        {
            body.Append("""<p class="muted">Nothing firing.</p>""");
        }
        else if (firing is not null)
        {
            body.Append("<ul class=\"alerts\">");
            foreach (var f in firing)
            {
                body.Append($"<li><b>{E(f.Alert)}</b> {E(f.Subject)}<br><span>{E(f.Summary)}</span> <small>since {E(Clock.Iso(f.SinceMs))}</small></li>");
            }
            body.Append("</ul>");
        }
        body.Append("""</section></div><section class="card"><h2>Queues and executors</h2><table><thead><tr><th>Handler</th><th>Queued</th><th>Oldest</th></tr></thead><tbody>""");
        foreach (var q in snapshot.QueuesByHandler)
        {
            body.Append($"<tr><td>{E(q.Name)}</td><td>{E(q.Depth)}</td><td>{E(Age(q.OldestAgeSeconds))}</td></tr>");
        }
        if (snapshot.QueuesByHandler.Count == 0)
        {
            body.Append("""<tr><td colspan="3" class="muted">Nothing queued.</td></tr>""");
        }
        body.Append("</tbody></table><table><thead><tr><th>Executor</th><th>Handlers</th><th>In flight</th><th>Last beat</th></tr></thead><tbody>");
        foreach (var e in snapshot.Executors ?? [])
        {
            body.Append($"<tr><td>{E(e.Owner)}</td><td>{E(string.Join(", ", e.Handlers))}</td><td>{E(e.InFlight)}</td><td>{E(Clock.Iso(e.LastBeatMs))}</td></tr>");
        }
        body.Append("</tbody></table></section>");
        return body.ToString();
    }

    private static void Tile(StringBuilder body, string label, string value, string note, string tone = "") =>
        body.Append($"""<div class="tile {tone}"><span class="label">{E(label)}</span><b>{E(value)}</b><small>{E(note)}</small></div>""");

    private static string Age(double seconds) =>
        seconds < 1 ? "–" : seconds < 120 ? $"{seconds:0} s" : seconds < 7200 ? $"{seconds / 60:0} min" : $"{seconds / 3600:0.#} h";

    /// <summary>Minutes of hour <paramref name="h"/> of the chart so far: 60, or those of the current hour.</summary>
    private static double MinutesOf(int h, long nowMs) =>
        h < Hours - 1 ? 60 : Math.Max(1, (nowMs - HourlyRequestCounts.FirstHourStart(nowMs) - (Hours - 1) * 3_600_000L) / 60_000.0);

    /// <summary>
    /// An SVG bar per clock hour (oldest first, the last being the current hour, so far): its
    /// average <paramref name="what"/> per minute, the failed part on top in red.
    /// </summary>
    internal static string Chart(long[] total, long[] failed, long nowMs, string what = "requests")
    {
        const int width = 960, height = 200, left = 40, bottom = 24, top = 10;
        var max = Math.Max(1.0, Enumerable.Range(0, Hours).Max(h => total[h] / MinutesOf(h, nowMs)));
        var step = (width - left) / (double)Hours;
        var plot = height - bottom - top;
        var svg = new StringBuilder($"""<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{E(what)} per minute per hour, last 24 hours">""");
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
        for (var i = 0; i <= 4; i++)
        {
            var y = top + plot - plot * i / 4.0;
            svg.Append($"""<line class="grid" x1="{left}" x2="{width}" y1="{F(y)}" y2="{F(y)}"/><text class="axis" x="{left - 6}" y="{F(y + 4)}" text-anchor="end">{E((max * i / 4).ToString("0.##", CultureInfo.InvariantCulture))}</text>""");
        }
        for (var h = 0; h < Hours; h++)
        {
            var x = left + h * step + 3;
            var rpm = total[h] / MinutesOf(h, nowMs);
            var fpm = failed[h] / MinutesOf(h, nowMs);
            var hTotal = plot * rpm / max;
            var hFail = plot * fpm / max;
            var start = DateTimeOffset.FromUnixTimeMilliseconds(HourlyRequestCounts.FirstHourStart(nowMs) + h * 3_600_000L);
            svg.Append($"""<g><title>{E($"{start:HH:mm} UTC: {total[h]} {what} ({rpm:0.##}/min), {failed[h]} failed")}</title>""");
            svg.Append($"""<rect class="ok" x="{F(x)}" y="{F(top + plot - hTotal)}" width="{F(step - 6)}" height="{F(hTotal - hFail)}" rx="2"/>""");
            svg.Append($"""<rect class="fail" x="{F(x)}" y="{F(top + plot - hFail)}" width="{F(step - 6)}" height="{F(hFail)}"/></g>""");
            if (h % 3 == 0)
            {
                svg.Append($"""<text class="axis" x="{F(x + (step - 6) / 2)}" y="{height - 6}" text-anchor="middle">{E($"{start:HH:mm}")}</text>""");
            }
        }
        svg.Append("</svg>");
        return svg.ToString();
    }
}
