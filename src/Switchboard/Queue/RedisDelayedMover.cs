using StackExchange.Redis;

namespace Switchboard.Queue;

/// <summary>
/// Moves due delayed messages into their streams (fairness off) or to the head of their fair flows
/// (<see cref="RedisFairScripts.MoveDue"/>, which stages them), every <see cref="RedisJobQueueOptions.MoverInterval"/>.
/// Runs in every process that reads, for the handlers it serves: the script is atomic, so
/// several movers never move a message twice, and as long as one executor of a handler lives,
/// that handler's delayed messages come due (those of a handler nobody serves wait with it).
/// </summary>
internal sealed class RedisDelayedMover : IAsyncDisposable
{
    /// <summary>Members moved per script call; a backlog is worked off in consecutive calls.</summary>
    private const int Limit = 500;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKey[] _keys;
    private readonly string _script;
    private readonly RedisValue[] _args;
    private readonly TimeSpan _interval;
    private readonly RedisOutageLog _outage;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public RedisDelayedMover(IConnectionMultiplexer redis, RedisQueueKeys keys, IReadOnlyList<string> handlers, RedisJobQueueOptions options, ILogger logger)
    {
        _redis = redis;
        if (options.Fair)
        {
            _keys = [.. handlers.SelectMany(h => new[] { keys.Delayed(h), keys.Stream(h), keys.Fair(h), keys.Demand(h) })];
            _script = RedisFairScripts.MoveDue;
            _args = [Limit, RedisQueueKeys.Group, options.AgeStepMs];
        }
        else
        {
            _keys = [.. handlers.SelectMany(h => new[] { keys.Delayed(h), keys.Stream(h) })];
            _script = RedisScripts.MoveDue;
            _args = [Limit];
        }
        _interval = options.MoverInterval;
        _outage = new RedisOutageLog(logger, "moving delayed messages");
        _loop = Task.Run(MoveLoop);
    }

    private async Task MoveLoop()
    {
        if (_keys.Length == 0)
        {
            return;
        }
        using var timer = new PeriodicTimer(_interval);
        try
        {
            do
            {
                try
                {
                    long moved;
                    do
                    {
                        moved = (long)await _redis.GetDatabase().ScriptEvaluateAsync(_script, _keys, _args);
                    }
                    while (moved >= Limit && !_stop.IsCancellationRequested);
                    _outage.Succeeded();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Nothing is lost: the members stay in the set until a later tick moves them.
                    _outage.Failed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }
}
