namespace Switchboard.Tests.Infrastructure;

/// <summary>A fake upstream's API key, in an environment variable a profile's <c>api_key_env</c> names.</summary>
public sealed record UpstreamKey(string Variable, string Value)
{
    /// <summary>
    /// Sets a variable of this test's own (tests of other classes run in parallel in the same
    /// process) to a fresh key starting with <paramref name="prefix"/>; removed when the app ends.
    /// </summary>
    public static UpstreamKey Set(TestApp app, string provider, string prefix = "sk-test-")
    {
        var key = new UpstreamKey($"SWITCHBOARD_TEST_{provider}_KEY_{TestNames.Short()}", $"{prefix}{Guid.NewGuid():N}");
        Environment.SetEnvironmentVariable(key.Variable, key.Value);
        app.AtEnd(() => Environment.SetEnvironmentVariable(key.Variable, null));
        return key;
    }
}
