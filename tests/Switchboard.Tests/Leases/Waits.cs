namespace Switchboard.Tests.Leases;

/// <summary>The lease tests' bounded wait: polls a condition, fails the test naming what it waited for.</summary>
internal static class Waits
{
    public static async Task Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}");
            await Task.Delay(20);
        }
    }
}
