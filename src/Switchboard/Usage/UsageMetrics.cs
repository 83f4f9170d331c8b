using System.Diagnostics;
using System.Diagnostics.Metrics;
using Switchboard.Observability;

namespace Switchboard.Usage;

/// <summary>
/// The usage counts as .NET metrics (meter <c>Switchboard.Usage</c>), for any exporter to read
/// (Prometheus, OpenTelemetry, dotnet-counters). Labels are bounded: resource and handler, never
/// a user or a request id (per-user usage is in the store).
/// </summary>
public sealed class UsageMetrics : IDisposable
{
    public const string MeterName = "Switchboard.Usage";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _calls;
    private readonly Counter<long> _integrationCredits;
    private readonly Counter<long> _userCredits;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _latency;

    public UsageMetrics()
    {
        _calls = _meter.CreateCounter<long>("switchboard.handler.calls", description: "Handler attempts (calls of an external API).");
        _integrationCredits = _meter.CreateCounter<long>("switchboard.handler.integration_credits", description: "Integration credits spent (failed calls included).");
        _userCredits = _meter.CreateCounter<long>("switchboard.handler.user_credits", description: "User credits earned by successful attempts.");
        _errors = _meter.CreateCounter<long>("switchboard.handler.errors", description: "Handler attempts that failed.");
        _latency = _meter.CreateHistogram<double>("switchboard.handler.duration", unit: "s", description: "Handler attempt duration.");
    }

    public void Record(string? resource, string handler, long integrationCredits, long userCredits, bool error, TimeSpan latency)
    {
        var tags = new TagList { { "resource", resource ?? "" }, { "handler", handler } };
        _calls.Add(1, tags);
        _integrationCredits.Add(integrationCredits, tags);
        _userCredits.Add(userCredits, tags);
        if (error)
        {
            _errors.Add(1, tags);
        }
        _latency.Record(latency.TotalSeconds, tags);
        // For Prometheus, with its naming (the meter itself is not exported there: see MetricsHosting).
        var labels = (resource ?? "", handler);
        SwitchboardMetrics.IntegrationCredits.WithLabels(labels.Item1, labels.Item2).Inc(integrationCredits);
        SwitchboardMetrics.UserCreditsEarned.WithLabels(labels.Item1, labels.Item2).Inc(userCredits);
    }

    public void Dispose() => _meter.Dispose();
}
