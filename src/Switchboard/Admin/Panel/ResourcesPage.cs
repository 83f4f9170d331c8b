using System.Globalization;
using System.Text;
using Switchboard.Config;
using Switchboard.Resources;
using Switchboard.Storage;
using Switchboard.Usage;
using static Switchboard.Admin.Panel.PanelForms;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Resources: per resource of the live map, its limits and its state now as usage bars (slots
/// in use, calls in the last minute against the rpm, credits spent this period against the
/// budget, jobs waiting), and its calls per hour over 24 h from usage. The same
/// <see cref="ResourceOverview"/> as <c>GET /admin/api/resources</c>.
/// </summary>
public static class ResourcesPage
{
    public static RouteGroupBuilder MapResourcesPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/resources", Render);
        return panel;
    }

    private static async Task<IResult> Render(HttpContext http, AppConfigs configs, IResourceGate gate, Store store)
    {
        List<ResourceView> views;
        try
        {
            views = await ResourceOverview.TakeAsync(configs, gate, store);
        }
        catch (Exception ex) when (GateHealth.IsUnreachableError(ex))
        {
            return Frame(http, "Resources", """<section class="card"><p class="alert" role="alert">The resource gate (Redis) cannot be reached: jobs that need a resource wait until it can. Reload to try again.</p></section>""", 503);
        }
        if (views.Count == 0)
        {
            return Frame(http, "Resources", """<section class="card"><p class="muted">No resources configured. Push a <code>resource_map</code> config (see docs/configuration.md) to limit concurrency, rate and credits per integration.</p></section>""");
        }
        var now = Clock.NowMs();
        var hours = HourlyCalls(store, now);
        var body = new StringBuilder();
        foreach (var v in views)
        {
            var s = v.Spec;
            string[] limits =
            [
                s.MaxConcurrent is { } m ? $"{m} at once" : "no concurrency limit",
                s.Rpm is { } r ? $"{r} per minute" : "no rate limit",
                s.Credits is { } c ? $"{c} credits per {Period(s.Period)}" : "no credit budget",
                $"when exhausted: {s.OnExhausted.ToString().ToLowerInvariant()}",
            ];
            var (calls, errors) = hours.TryGetValue(s.Name, out var series) ? series : (new long[HourlyRequestCounts.Hours], new long[HourlyRequestCounts.Hours]);
            body.Append($"""
                <section class="card resource" data-resource="{E(s.Name)}">
                <div class="card-head"><h2>{E(s.Name)}</h2><span class="muted">{E(string.Join(" · ", limits))}</span></div>
                <div class="bars3">
                {Bar("Slots in use", v.State.InUse, s.MaxConcurrent, "slots")}
                {Bar("Calls in the last minute", v.CallsLastMinute, s.Rpm, "calls")}
                {Bar("Credits spent this period", v.State.Spent, s.Credits, "credits", $"until {v.State.PeriodEnds.UtcDateTime:yyyy-MM-dd HH:mm} UTC")}
                </div>
                <p class="waiting">{(v.State.Waiting == 0 ? "<span class=\"muted\">No job waiting.</span>" : $"{Badge($"{v.State.Waiting} waiting", "info")} for a slot, the rate or the budget")}</p>
                <h3 class="sub">Calls per minute, by hour (24 h)</h3>{Chart(calls, errors, now, "calls")}
                </section>
                """);
        }
        return Frame(http, "Resources", body.ToString());
    }

    private static string Period(TimeSpan period) =>
        period.TotalDays >= 1 && period.TotalDays % 1 == 0 ? $"{period.TotalDays:0} d"
        : period.TotalHours >= 1 && period.TotalHours % 1 == 0 ? $"{period.TotalHours:0} h"
        : $"{period.TotalSeconds:0} s";

    /// <summary>A usage bar: <paramref name="used"/> of <paramref name="limit"/>, or the count alone when there is no limit.</summary>
    private static string Bar(string label, long used, long? limit, string unit, string? note = null)
    {
        var ratio = limit is > 0 ? Math.Clamp((double)used / limit.Value, 0, 1) : 0;
        var text = limit is null ? $"{used} {unit} (no limit)" : $"{used} of {limit} {unit}";
        return $"""
            <div class="bar-row"><div class="bar-label"><b>{E(label)}</b><span>{E(text)}</span></div>
            <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="presentation"><rect class="fill{(ratio >= 0.9 ? " bad" : ratio >= 0.7 ? " warn" : "")}" width="{(ratio * 100).ToString("0.#", CultureInfo.InvariantCulture)}" height="8"/></svg>
            {(note is null ? "" : $"<small class=\"muted\">{E(note)}</small>")}</div>
            """;
    }

    /// <summary>Calls and errors per clock hour over the last 24 (as the dashboard's) for each resource, from <c>usage_minutes</c>.</summary>
    private static Dictionary<string, (long[] Calls, long[] Errors)> HourlyCalls(Store store, long now)
    {
        var from = HourlyRequestCounts.FirstHourStart(now);
        var result = new Dictionary<string, (long[], long[])>(StringComparer.Ordinal);
        using var connection = store.Open();
        foreach (var row in UsageQuery.Totals(connection, new UsageFilter(from, PerMinute: true)))
        {
            if (row.Resource is null)
            {
                continue;
            }
            if (!result.TryGetValue(row.Resource, out var series))
            {
                result[row.Resource] = series = (new long[HourlyRequestCounts.Hours], new long[HourlyRequestCounts.Hours]);
            }
            var h = (int)Math.Clamp((row.Minute!.Value - from) / 3_600_000, 0, HourlyRequestCounts.Hours - 1);
            series.Item1[h] += row.Calls;
            series.Item2[h] += row.Errors;
        }
        return result;
    }

    // Temporary: the Razor rewrite of this page draws it with BarChart.
    private static string Chart(long[] total, long[] failed, long nowMs, string what = "requests")
    {
        const int width = 960, height = 200, left = 40, bottom = 24, top = 10;
        var max = Math.Max(1.0, Enumerable.Range(0, HourlyRequestCounts.Hours).Max(h => total[h] / Components.HourlyBars.MinutesOf(h, nowMs)));
        var step = (width - left) / (double)HourlyRequestCounts.Hours;
        var plot = height - bottom - top;
        var svg = new StringBuilder($"""<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{E(what)} per minute per hour, last 24 hours">""");
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
        for (var i = 0; i <= 4; i++)
        {
            var y = top + plot - plot * i / 4.0;
            svg.Append($"""<line class="grid" x1="{left}" x2="{width}" y1="{F(y)}" y2="{F(y)}"/><text class="axis" x="{left - 6}" y="{F(y + 4)}" text-anchor="end">{E((max * i / 4).ToString("0.##", CultureInfo.InvariantCulture))}</text>""");
        }
        for (var h = 0; h < HourlyRequestCounts.Hours; h++)
        {
            var x = left + h * step + 3;
            var rpm = total[h] / Components.HourlyBars.MinutesOf(h, nowMs);
            var fpm = failed[h] / Components.HourlyBars.MinutesOf(h, nowMs);
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
