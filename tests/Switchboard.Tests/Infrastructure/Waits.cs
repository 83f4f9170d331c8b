using System.Collections;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// The one way a test waits: for a condition, polled at a short interval, up to a deadline,
/// failing with what it waited for and the last value it saw. Never a bare <c>Task.Delay</c>
/// that hopes the system got there (too short on a busy 2-core CI, too long everywhere else).
/// A task is awaited with <c>.WaitAsync(timeout)</c> instead, as dotnet/aspire-samples does.
/// A <c>Task.Delay</c> that is not a wait (a fake upstream's deliberate slowness, time that
/// must pass to prove something does NOT happen) stays, with a comment saying so.
/// </summary>
/// <remarks>
/// Deadlines are generous because they cost nothing when the condition holds early: the
/// wait ends at the first poll that sees it. A condition that throws (an assertion on each
/// intermediate value) fails the test at once; it is not retried.
/// </remarks>
public static class Wait
{
    /// <summary>Short enough that a wait ends close to when its condition starts holding.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static Task Until(Func<bool> condition, TimeSpan timeout, string what, TimeSpan? poll = null) =>
        Until(() => Task.FromResult(condition()), timeout, () => what, poll);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? poll = null) =>
        Until(condition, timeout, () => what, poll);

    /// <summary>As <see cref="Until(Func{bool}, TimeSpan, string, TimeSpan?)"/>, the message built only on failure (it may query what is there).</summary>
    public static Task Until(Func<bool> condition, TimeSpan timeout, Func<string> what, TimeSpan? poll = null) =>
        Until(() => Task.FromResult(condition()), timeout, what, poll);

    /// <summary>As <see cref="Until(Func{Task{bool}}, TimeSpan, string, TimeSpan?)"/>, the message built only on failure (it may query what is there).</summary>
    public static Task Until(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what, TimeSpan? poll = null) =>
        Poll(condition, held => held, timeout, _ => $"timed out after {timeout} waiting for {what()}", poll);

    /// <summary>
    /// Reads a value until <paramref name="done"/> holds for it, and returns that value; fails
    /// naming <paramref name="what"/> and the last value read after <paramref name="timeout"/>.
    /// </summary>
    public static Task<T> For<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what, TimeSpan? poll = null) =>
        Poll(read, done, timeout, last => $"timed out after {timeout} waiting for {what}; last seen: {Describe(last)}", poll);

    /// <summary>As <see cref="For{T}(Func{Task{T}}, Func{T, bool}, TimeSpan, string, TimeSpan?)"/> for a value read without awaiting.</summary>
    public static Task<T> For<T>(Func<T> read, Func<T, bool> done, TimeSpan timeout, string what, TimeSpan? poll = null) =>
        For(() => Task.FromResult(read()), done, timeout, what, poll);

    /// <summary>Reads a value until it equals <paramref name="expected"/>, and returns it.</summary>
    public static Task<T> ForValue<T>(Func<Task<T>> read, T expected, TimeSpan timeout, string what, TimeSpan? poll = null) =>
        For(read, value => EqualityComparer<T>.Default.Equals(value, expected), timeout, $"{what} to be {Describe(expected)}", poll);

    /// <summary>Reads a value until it equals <paramref name="expected"/>, and returns it.</summary>
    public static Task<T> ForValue<T>(Func<T> read, T expected, TimeSpan timeout, string what, TimeSpan? poll = null) =>
        ForValue(() => Task.FromResult(read()), expected, timeout, what, poll);

    /// <summary>
    /// Returns at once unless the next edge of a budget <paramref name="period"/> is closer than
    /// <paramref name="needed"/>; then it lets the edge pass first. A resource's budget resets at
    /// each multiple of its period since the Unix epoch (as the gates count it), so a test that
    /// spends a budget and then reads or relies on what is left must not straddle that edge.
    /// </summary>
    public static async Task ClearOfPeriodEdge(TimeSpan period, TimeSpan needed)
    {
        var periodMs = (long)period.TotalMilliseconds;
        var left = periodMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() % periodMs;
        if (left < needed.TotalMilliseconds)
        {
            // Time that must pass, not a wait for a condition: the budget resets at the edge.
            await Task.Delay(TimeSpan.FromMilliseconds(left + 100));
        }
    }

    // The one loop: the condition is read at least once, and once more after the last pause,
    // so a deadline never fails a condition that held by then.
    private static async Task<T> Poll<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, Func<T, string> failure, TimeSpan? poll)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }
            if (clock.Elapsed >= timeout)
            {
                throw new TimeoutException(failure(value));
            }
            await Task.Delay(poll ?? Interval);
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string text => $"\"{text}\"",
        JsonNode json => json.ToJsonString(),
        IEnumerable items => $"[{string.Join(", ", items.Cast<object?>().Select(Describe))}]",
        _ => value.ToString() ?? "",
    };
}
