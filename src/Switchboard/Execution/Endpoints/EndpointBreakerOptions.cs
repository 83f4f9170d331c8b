namespace Switchboard.Execution.Endpoints;

/// <summary>
/// <c>Switchboard:Breakers</c>: the circuit breaker each process keeps per (handler, endpoint
/// profile) of offers that name several endpoints. It opens when at least
/// <see cref="FailureRatio"/> of the calls in the last <see cref="SamplingDuration"/> failed
/// transiently (and at least <see cref="MinimumThroughput"/> calls were made), stays open for
/// <see cref="BreakDuration"/>, then lets one probe call through (Polly's half-open).
/// </summary>
public sealed class EndpointBreakerOptions
{
    public const string Section = "Switchboard:Breakers";

    public double FailureRatio { get; set; } = 0.5;

    public int MinimumThroughput { get; set; } = 10;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>What is wrong, or null. The bounds are Polly's own (it throws on others at build time, too late for a clear message).</summary>
    public string? Check()
    {
        if (FailureRatio is <= 0 or > 1)
        {
            return "FailureRatio must be above 0 and at most 1";
        }
        if (MinimumThroughput < 2)
        {
            return "MinimumThroughput must be at least 2";
        }
        if (SamplingDuration < TimeSpan.FromMilliseconds(500) || SamplingDuration > TimeSpan.FromDays(1))
        {
            return "SamplingDuration must be from 0.5 s to 1 day";
        }
        if (BreakDuration < TimeSpan.FromMilliseconds(500) || BreakDuration > TimeSpan.FromDays(1))
        {
            return "BreakDuration must be from 0.5 s to 1 day";
        }
        return null;
    }
}
