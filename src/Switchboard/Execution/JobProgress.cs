using System.Data.Common;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Lifecycle;
using Switchboard.Live;
using Switchboard.Observability;

namespace Switchboard.Execution;

/// <summary>
/// One running job's progress reports on their way to its row. A report only replaces the value
/// waiting to be written and returns (the handler never waits for the store); one write at a time
/// runs in the background, at most one per <see cref="Interval"/>, with the latest value, so a
/// handler reporting a thousand times a second costs four writes a second. After each write a
/// <see cref="ChangeKind.Progress"/> change tells the followers (a step's deal's too).
/// <see cref="FlushAsync"/>, before the outcome is written, writes the last value at once, so the
/// final row shows the last report. A write the claim no longer allows (cancelled, taken over)
/// ends the reporting; a write the store refuses drops that value (the next report tries again).
/// </summary>
public sealed class JobProgress(RequestLifecycle lifecycle, IChangePublisher publisher, ClaimedJob job, string owner, ILogger logger)
{
    /// <summary>Least time between two progress writes of one job.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest stored message, in characters; a longer one is cut.</summary>
    public const int MaxMessageChars = 200;

    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _hurry = new();
    private string? _waiting;
    private Task _writer = Task.CompletedTask;
    private bool _closed;
    private bool _running;
    private long _lastWrite = long.MinValue / 2;
    private int _writes;

    /// <summary>Progress values written to the row so far.</summary>
    public int Writes => Volatile.Read(ref _writes);

    /// <summary>Takes a report (fraction already in 0..1); never blocks.</summary>
    public void Report(double fraction, string? message)
    {
        var json = new JsonObject
        {
            ["fraction"] = Math.Round(fraction, 4),
            ["message"] = Clean(message),
            ["at"] = Clock.Iso(Clock.NowMs()),
        }.ToJsonString();
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }
            _waiting = json;
            if (!_running)
            {
                _running = true;
                _writer = Task.Run(WriteLoop);
            }
        }
    }

    /// <summary>
    /// Writes the value still waiting (without waiting for the interval) and takes no more
    /// reports. Waits at most <see cref="FlushWait"/>: the outcome is not held by a slow store; a
    /// write still on its way then lands before the outcome or matches nothing (it is
    /// conditional on the running claim, which the outcome ends).
    /// </summary>
    public async Task FlushAsync()
    {
        Task writer;
        lock (_lock)
        {
            _closed = true;
            writer = _writer;
        }
        await _hurry.CancelAsync();
        await Task.WhenAny(writer, Task.Delay(FlushWait));
    }

    /// <summary>Longest the outcome waits for the last progress write.</summary>
    public static readonly TimeSpan FlushWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// What a client is shown: control characters (line breaks, escapes that would drive a
    /// terminal) are removed, white space trimmed, the length capped; null when nothing is left.
    /// </summary>
    public static string? Clean(string? message)
    {
        if (message is null)
        {
            return null;
        }
        var kept = new StringBuilder(Math.Min(message.Length, MaxMessageChars));
        foreach (var c in message)
        {
            if (!char.IsControl(c))
            {
                kept.Append(c);
            }
        }
        var text = kept.ToString().Trim();
        if (text.Length > MaxMessageChars)
        {
            // Not between the halves of a surrogate pair.
            var cut = char.IsHighSurrogate(text[MaxMessageChars - 1]) ? MaxMessageChars - 1 : MaxMessageChars;
            text = text[..cut];
        }
        return text.Length == 0 ? null : text;
    }

    private async Task WriteLoop()
    {
        while (true)
        {
            var wait = _lastWrite + (long)Interval.TotalMilliseconds - Environment.TickCount64;
            if (wait > 0 && !_hurry.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait), _hurry.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            string? json;
            lock (_lock)
            {
                json = _waiting;
                _waiting = null;
                if (json is null)
                {
                    _running = false;
                    return;
                }
            }
            _lastWrite = Environment.TickCount64;
            if (!await Write(json))
            {
                lock (_lock)
                {
                    _closed = true;
                    _waiting = null;
                    _running = false;
                }
                return;
            }
        }
    }

    /// <summary>False when the claim no longer allows it: nothing more is written.</summary>
    private async Task<bool> Write(string json)
    {
        try
        {
            if (!await lifecycle.ReportProgressAsync(job, owner, json))
            {
                return false;
            }
        }
        catch (DbException ex)
        {
            logger.LogDebug("Progress of {RequestId} not stored: {Error}", job.RequestId, ex.Message);
            return true;
        }
        Interlocked.Increment(ref _writes);
        SwitchboardMetrics.ProgressWrites.Inc();
        publisher.Publish(new RequestChange(job.RequestId, ChangeKind.Progress));
        if (job.Parent is { } deal)
        {
            publisher.Publish(new RequestChange(deal, ChangeKind.Progress));
        }
        return true;
    }
}
