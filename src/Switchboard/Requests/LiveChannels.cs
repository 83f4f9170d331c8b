using Microsoft.Extensions.Options;
using Switchboard.Errors;
using Switchboard.Config;
using Switchboard.Observability;

namespace Switchboard.Requests;

/// <summary>
/// The open live channels of this process (the status WebSocket today; any later streaming
/// endpoint takes its lease here too), capped per user (<see cref="SwitchboardOptions.LiveChannelsPerUser"/>)
/// and per process (<see cref="SwitchboardOptions.LiveChannelsPerProcess"/>). A lease is taken
/// before the upgrade, so a refusal is a plain 429 problem, and given back by disposing it when
/// the channel ends, however it ends (a client that drops the connection ends the handler too).
/// </summary>
public sealed class LiveChannels(IOptions<SwitchboardOptions> options)
{
    /// <summary>What a refused client is told to wait before it tries again.</summary>
    public const int RetryAfterSeconds = 5;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _perUser = new(StringComparer.Ordinal);
    private int _open;

    /// <summary>Channels open in this process now.</summary>
    public int Open
    {
        get
        {
            lock (_lock)
            {
                return _open;
            }
        }
    }

    /// <summary>A lease for one more channel of <paramref name="userId"/>, or null when a cap is reached.</summary>
    public Lease? TryAcquire(string userId)
    {
        var limits = options.Value;
        lock (_lock)
        {
            var mine = _perUser.GetValueOrDefault(userId);
            if (_open >= limits.LiveChannelsPerProcess || mine >= limits.LiveChannelsPerUser)
            {
                return null;
            }
            _perUser[userId] = mine + 1;
            _open++;
            SwitchboardMetrics.LiveChannelsOpen.Set(_open);
            return new Lease(this, userId);
        }
    }

    private void Release(string userId)
    {
        lock (_lock)
        {
            var mine = _perUser[userId] - 1;
            if (mine == 0)
            {
                _perUser.Remove(userId);
            }
            else
            {
                _perUser[userId] = mine;
            }
            _open--;
            SwitchboardMetrics.LiveChannelsOpen.Set(_open);
        }
    }

    /// <summary>The 429 a refused channel gets, with <c>Retry-After</c>.</summary>
    public static IResult Refused(HttpContext http)
    {
        SwitchboardMetrics.LiveChannelsRefused.Inc();
        http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problems.Of(StatusCodes.Status429TooManyRequests, "too_many_live_channels", "Too many live channels open",
            "Close a live channel you no longer follow, or read the request with GET instead.");
    }

    /// <summary>One open channel; disposing it (once or more) gives its place back.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly LiveChannels _owner;
        private readonly string _userId;
        private int _disposed;

        internal Lease(LiveChannels owner, string userId) => (_owner, _userId) = (owner, userId);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Release(_userId);
            }
        }
    }
}
