using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchboard.Observability;
using YamlDotNet.RepresentationModel;

namespace Switchboard.Tests.Observability;

/// <summary>
/// The monitoring files of deploy/ read as data: every PromQL expression (Prometheus's rules,
/// the Grafana dashboard, Grafana's alert rules) names only metrics the app defines, and
/// Grafana's alerting provisioning hangs together (each rule on the Switchboard datasource with
/// a condition it defines, every alert routed to the Discord contact point, whose URL is an
/// environment variable). Grafana is not installable here: PrometheusScrapeTests runs the same
/// expressions on a real Prometheus, which is as far as they can be checked.
/// </summary>
public sealed partial class MonitoringFilesTests
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot(), "deploy");
    private static readonly string Alerting = Path.Combine(Deploy, "grafana", "provisioning", "alerting");

    /// <summary>prometheus-net.AspNetCore's HTTP metrics (MetricsHosting.cs turns them on), which the app does not name itself.</summary>
    private static readonly string[] HttpMetrics = ["http_requests_received_total", "http_request_duration_seconds", "http_requests_in_progress"];

    [Fact]
    public void EveryMetricTheMonitoringFilesQueryIsOneTheAppExports()
    {
        var exported = ExportedSeries();
        var expressions = PrometheusRuleExpressions()
            .Concat(DashboardExpressions())
            .Concat(GrafanaAlertExpressions().Select(e => e.Expr))
            .ToList();
        Assert.True(expressions.Count >= 25, $"only {expressions.Count} expressions found");
        foreach (var expression in expressions)
        {
            var names = MetricName().Matches(expression).Select(m => m.Value).ToList();
            Assert.True(names.Count > 0 || expression.Contains("up{", StringComparison.Ordinal), $"no Switchboard metric in {expression}");
            foreach (var name in names)
            {
                Assert.True(exported.Contains(name), $"{name} (in {expression.Trim()}) is not a metric the app exports");
            }
        }
    }

    [Fact]
    public void GrafanaAlertRulesQueryTheSwitchboardDatasourceAndDefineTheirCondition()
    {
        var datasourceUid = Scalar(Load(Path.Combine(Deploy, "grafana", "provisioning", "datasources", "switchboard.yml")), "datasources", 0, "uid");
        // The compose's datasource (url from the environment) keeps the same uid.
        Assert.Equal(datasourceUid, Scalar(Load(Path.Combine(Deploy, "grafana", "compose-datasources", "switchboard.yml")), "datasources", 0, "uid"));

        var rules = Load(Path.Combine(Alerting, "rules.yml"));
        Assert.Equal("1", Scalar(rules, "apiVersion"));
        var all = ((YamlSequenceNode)rules["groups"]).SelectMany(g => (YamlSequenceNode)((YamlMappingNode)g)["rules"]).Cast<YamlMappingNode>().ToList();
        Assert.True(all.Count >= 4, $"only {all.Count} Grafana alert rules");
        Assert.Equal(all.Count, all.Select(r => Scalar(r, "uid")).Distinct().Count());
        foreach (var rule in all)
        {
            var title = Scalar(rule, "title");
            var data = ((YamlSequenceNode)rule["data"]).Cast<YamlMappingNode>().ToList();
            var refIds = data.Select(d => Scalar(d, "refId")).ToList();
            Assert.Contains(Scalar(rule, "condition"), refIds);
            foreach (var query in data)
            {
                var model = (YamlMappingNode)query["model"];
                Assert.Equal(Scalar(query, "refId"), Scalar(model, "refId"));
                if (Scalar(query, "datasourceUid") == "__expr__")
                {
                    // An expression (threshold, reduce, math) reads another query of the rule.
                    Assert.Contains(Scalar(model, "expression"), refIds);
                }
                else
                {
                    Assert.True(Scalar(query, "datasourceUid") == datasourceUid, $"{title}: query {Scalar(query, "refId")} is not on {datasourceUid}");
                    Assert.False(string.IsNullOrWhiteSpace(Scalar(model, "expr")), $"{title}: query without expr");
                }
            }
            Assert.Contains(Scalar(rule, "labels", "severity"), new[] { "warning", "critical" });
            Assert.False(string.IsNullOrWhiteSpace(Scalar(rule, "annotations", "summary")), $"{title}: no summary");
            Assert.Matches("^[0-9]+[smh]$", Scalar(rule, "for"));
        }
    }

    [Fact]
    public void GrafanaSendsEveryAlertToDiscordAtAUrlFromTheEnvironment()
    {
        var contactPoints = Load(Path.Combine(Alerting, "contact-points.yml"));
        var point = (YamlMappingNode)((YamlSequenceNode)contactPoints["contactPoints"]).Single();
        var receiver = (YamlMappingNode)((YamlSequenceNode)point["receivers"]).Single();
        Assert.Equal("discord", Scalar(receiver, "type"));
        // Grafana replaces ${VAR} in provisioning files with the environment's value: the secret never is in the file.
        Assert.Equal("${DISCORD_WEBHOOK_URL}", Scalar(receiver, "settings", "url"));

        var policies = Load(Path.Combine(Alerting, "policies.yml"));
        var root = (YamlMappingNode)((YamlSequenceNode)policies["policies"]).Single();
        var name = Scalar(point, "name");
        Assert.Equal(name, Scalar(root, "receiver"));
        foreach (var route in root.Children.TryGetValue("routes", out var routes) ? ((YamlSequenceNode)routes).Cast<YamlMappingNode>() : [])
        {
            Assert.Equal(name, Scalar(route, "receiver"));
        }

        foreach (var file in Directory.GetFiles(Alerting))
        {
            var text = File.ReadAllText(file);
            Assert.DoesNotContain("discord.com/api/webhooks", text, StringComparison.Ordinal);
            // Any other $ outside comments would be read as an environment variable by Grafana
            // (a Prometheus-style {{ $labels.x }} would print nothing): templates use .Labels.
            foreach (var line in text.Split('\n').Where(l => !l.TrimStart().StartsWith('#')))
            {
                Assert.True(!line.Contains('$') || line.Contains("${DISCORD_WEBHOOK_URL}", StringComparison.Ordinal),
                    $"{Path.GetFileName(file)}: '{line.Trim()}' has a $ Grafana would replace");
            }
        }
    }

    /// <summary>The PromQL of Grafana's alert rules (each rule's queries on the Prometheus datasource), with its rule's title.</summary>
    public static IEnumerable<(string Title, string Expr)> GrafanaAlertExpressions()
    {
        var rules = Load(Path.Combine(Alerting, "rules.yml"));
        foreach (var rule in ((YamlSequenceNode)rules["groups"]).SelectMany(g => (YamlSequenceNode)((YamlMappingNode)g)["rules"]).Cast<YamlMappingNode>())
        {
            foreach (var query in ((YamlSequenceNode)rule["data"]).Cast<YamlMappingNode>())
            {
                if (((YamlMappingNode)query["model"]).Children.TryGetValue("expr", out var expr))
                {
                    yield return (Scalar(rule, "title"), expr.ToString());
                }
            }
        }
    }

    private static IEnumerable<string> PrometheusRuleExpressions() =>
        ((YamlSequenceNode)Load(Path.Combine(Deploy, "alerts.yml"))["groups"])
            .SelectMany(g => (YamlSequenceNode)((YamlMappingNode)g)["rules"])
            .Select(r => Scalar((YamlMappingNode)r, "expr"));

    private static IEnumerable<string> DashboardExpressions() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Deploy, "grafana", "dashboard.json")))!["panels"]!.AsArray()
            .SelectMany(p => p!["targets"]?.AsArray() ?? [])
            .Select(t => t!["expr"]!.GetValue<string>());

    /// <summary>Every series name the app's metrics produce: SwitchboardMetrics' collectors (a histogram as its _bucket, _sum and _count) and the HTTP ones.</summary>
    private static HashSet<string> ExportedSeries()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in typeof(SwitchboardMetrics).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.GetValue(null) is Prometheus.Collector collector)
            {
                names.Add(collector.Name);
                if (collector is Prometheus.Histogram)
                {
                    names.UnionWith([collector.Name + "_bucket", collector.Name + "_sum", collector.Name + "_count"]);
                }
            }
        }
        Assert.True(names.Count > 20, $"only {names.Count} metrics found in SwitchboardMetrics");
        foreach (var http in HttpMetrics)
        {
            names.UnionWith([http, http + "_bucket", http + "_sum", http + "_count"]);
        }
        return names;
    }

    private static YamlMappingNode Load(string path)
    {
        var stream = new YamlStream();
        using var reader = File.OpenText(path);
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    /// <summary>The scalar at a path of keys (strings) and indexes (ints); fails naming the path when a step is missing.</summary>
    private static string Scalar(YamlNode node, params object[] path)
    {
        foreach (var step in path)
        {
            node = step switch
            {
                string key when node is YamlMappingNode map && map.Children.TryGetValue(key, out var child) => child,
                int index when node is YamlSequenceNode list && index < list.Children.Count => list.Children[index],
                _ => throw new Xunit.Sdk.XunitException($"no {string.Join('.', path)} in {node.Start}"),
            };
        }
        return ((YamlScalarNode)node).Value ?? "";
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("no Switchboard.slnx above " + AppContext.BaseDirectory);
    }

    /// <summary>A Switchboard or HTTP metric name in PromQL (label values like "switchboard-api" have a dash, not an underscore).</summary>
    [GeneratedRegex(@"\b(?:switchboard|http)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();
}
