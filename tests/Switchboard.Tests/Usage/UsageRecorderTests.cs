using System.ComponentModel.DataAnnotations;
using Switchboard.Config;
using Switchboard.Hosting;
using Switchboard.Usage;

namespace Switchboard.Tests.Usage;

/// <summary>The recorder alone (no store): keys, minutes, draining; the flush interval setting.</summary>
public sealed class UsageRecorderTests
{
    [Fact]
    public void AttemptsAreKeyedByTheirMinuteAndDrainedOnce()
    {
        var recorder = new UsageRecorder();
        var minute = new DateTimeOffset(2030, 1, 2, 3, 4, 0, TimeSpan.Zero);
        recorder.Record(null, "echo.render", "u_1", 1, 2, false, TimeSpan.FromMilliseconds(1.6), minute.AddMilliseconds(59_999));
        recorder.Record(null, "echo.render", "u_1", 1, 2, true, TimeSpan.FromMilliseconds(3), minute.AddMinutes(1));
        recorder.Record("gpu", "echo.render", "u_1", 0, 0, false, TimeSpan.FromMilliseconds(-5), minute.ToOffset(TimeSpan.FromHours(2)));

        var drained = recorder.Drain().ToDictionary(e => e.Key, e => e.Value);

        var ms = minute.ToUnixTimeMilliseconds();
        Assert.Equal(3, drained.Count);
        Assert.Equal(new UsageTotals(1, 1, 2, 0, 2, 2), drained[new UsageKey(ms, "", "echo.render", "u_1")]);
        Assert.Equal(new UsageTotals(1, 1, 2, 1, 3, 3), drained[new UsageKey(ms + 60_000, "", "echo.render", "u_1")]);
        Assert.Equal(new UsageTotals(1, 0, 0, 0, 0, 0), drained[new UsageKey(ms, "gpu", "echo.render", "u_1")]);
        Assert.Empty(recorder.Drain());
    }

    [Fact]
    public void TheFlushIntervalMustBePositive()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), new SwitchboardOptions().UsageFlushInterval);
        foreach (var (interval, valid) in new[] { (TimeSpan.FromMilliseconds(100), true), (TimeSpan.Zero, false), (TimeSpan.FromSeconds(-1), false) })
        {
            var options = new SwitchboardOptions { UsageFlushInterval = interval };
            var errors = new List<ValidationResult>();
            Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true));
            Assert.All(errors, e => Assert.Contains("UsageFlushInterval", e.ErrorMessage));
        }
    }
}
