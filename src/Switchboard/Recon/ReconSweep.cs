namespace Switchboard.Recon;

/// <summary>
/// Where recon's check of queued requests against the queue stands. A sweep walks the queued
/// requests from the oldest, a page per pass; once it reaches the newest, a pass checks only the
/// requests queued since, until the interval (30 s in <see cref="ReconService"/>) after the
/// sweep's start, when the next sweep starts from the oldest again; a sweep longer than the
/// interval runs on until it reaches the newest. A message found held stays held until its job
/// is done, unless the queue loses it (a Redis restarted empty, the in-process queue of a
/// process that restarted).
/// <para>
/// Steady, a page is <see cref="SteadyPage"/>, so that a pass costs about the same whatever the
/// backlog: a sweep of 100,000 queued requests spreads over 100 passes and reads 15,000 rows in
/// 30 s, where pages of 10,000 read all of them (the largest share of recon's time under a
/// backlog). A recovery sweep reads pages of <see cref="RecoveryPage"/> from the oldest to the
/// newest, so that a lost queue is refilled quickly: at a new leader's first pass, after a
/// failed pass, and from a steady page that finds a message missing (the queue may have lost
/// older ones too).
/// </para>
/// </summary>
internal sealed class ReconSweep(TimeSpan interval)
{
    public const int RecoveryPage = 10_000;

    public const int SteadyPage = 1_000;

    // The seq after which the next page starts; 0: the oldest.
    private long _checkedThrough;

    private long? _started;

    // The current sweep has reached the newest queued request.
    private bool _caughtUp;

    private bool _recovering = true;

    /// <summary>The page the next pass reads: queued requests with a seq after <c>AfterSeq</c>, at most <c>Limit</c>, oldest first.</summary>
    public (long AfterSeq, int Limit) Next(long now, bool firstPass)
    {
        if (firstPass || _started is not { } started || (_caughtUp && now - started >= (long)interval.TotalMilliseconds))
        {
            (_checkedThrough, _started, _caughtUp) = (0, now, false);
        }
        _recovering |= firstPass;
        return (_checkedThrough, _recovering ? RecoveryPage : SteadyPage);
    }

    /// <summary>What the page held: <paramref name="count"/> rows of the <paramref name="limit"/> asked, the last one's seq, and how many messages the queue lacked.</summary>
    public void Read(int count, int limit, long lastSeq, int missing)
    {
        // Fewer than asked: the sweep reached the newest; a full page: the next goes on from here.
        _caughtUp = count < limit;
        if (count > 0)
        {
            _checkedThrough = lastSeq;
        }
        if (missing > 0 && !_recovering)
        {
            (_recovering, _started) = (true, null);
        }
        else if (_caughtUp)
        {
            _recovering = false;
        }
    }

    /// <summary>The queue could not be asked: the next pass starts from the oldest, by the recovery page.</summary>
    public void Failed() => (_checkedThrough, _caughtUp, _recovering) = (0, false, true);
}
