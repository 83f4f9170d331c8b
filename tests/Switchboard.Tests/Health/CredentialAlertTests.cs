using Switchboard.Config;
using Switchboard.Recon;

namespace Switchboard.Tests.Health;

/// <summary><c>credential_missing</c>: one alert per variable some live executor lacks, naming those executors, at once.</summary>
public sealed class CredentialAlertTests
{
    private static ExecutorInfo Executor(string owner, params string[] missing) => new(owner, ["openai.chat"], "1.0", 4, 0, null, 0, false, missing);

    private static List<AlertCondition> Check(params ExecutorInfo[] executors) =>
        AlertRules.Check(new HealthSnapshot(0, executors, [], [], [new DependencyInfo("store", true, 0.001, null, null)], [], [], TimeSpan.FromMinutes(5)), AlertThresholds.Defaults, 0);

    [Fact]
    public void EachMissingVariableFiresOnceNamingTheExecutorsThatLackIt()
    {
        var conditions = Check(Executor("b:2", "OPENAI_API_KEY"), Executor("a:1", "OPENAI_API_KEY", "LOCAL_KEY"), Executor("c:3"));

        Assert.Equal(
            [(AlertRules.CredentialMissing, "LOCAL_KEY"), (AlertRules.CredentialMissing, "OPENAI_API_KEY")],
            conditions.Select(c => (c.Alert, c.Subject)).Order());
        var openai = conditions.Single(c => c.Subject == "OPENAI_API_KEY");
        Assert.Equal(TimeSpan.Zero, openai.For);
        Assert.Contains("is not set on 2 executor(s) (a:1, b:2)", openai.Summary);
    }

    [Fact]
    public void NoneWhenEveryExecutorHasItsVariablesOrTheRegistryCannotBeRead()
    {
        Assert.Empty(Check(Executor("a:1"), Executor("b:2")));
        Assert.Empty(AlertRules.Check(
            new HealthSnapshot(0, null, [], [], [new DependencyInfo("store", true, 0.001, null, null)], [], [], TimeSpan.FromMinutes(5)), AlertThresholds.Defaults, 0));
    }
}
