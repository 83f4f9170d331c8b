using System.Data.Common;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Observability;
using Switchboard.Storage;

namespace Switchboard.Requests;

/// <summary>
/// One poller per process for every live status socket: each
/// <see cref="SwitchboardOptions.LiveStatusPollInterval"/> it reads the change markers of all
/// watched requests (status, run, attempts and updated_at of the request's row and of a deal's
/// step rows) in batched <c>IN</c> queries of at most <see cref="SwitchboardOptions.LiveStatusBatch"/>
/// ids, and wakes only the watches whose request changed; those then read their request once.
/// So the store reads per tick are ceil(watched requests / batch), not one per socket, and an
/// idle process reads nothing.
/// </summary>
public sealed class LiveStatusPoller(Store store, IOptions<SwitchboardOptions> options, ILogger<LiveStatusPoller> logger) : BackgroundService
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Watch>> _watches = new(StringComparer.Ordinal);

    /// <summary>Starts watching <paramref name="id"/>; the first tick wakes the watch (its marker is not known yet).</summary>
    public Watch Start(string id)
    {
        var watch = new Watch(this, id);
        lock (_lock)
        {
            if (!_watches.TryGetValue(id, out var list))
            {
                _watches[id] = list = [];
            }
            list.Add(watch);
        }
        return watch;
    }

    private void Stop(Watch watch)
    {
        lock (_lock)
        {
            if (_watches.TryGetValue(watch.Id, out var list) && list.Remove(watch) && list.Count == 0)
            {
                _watches.Remove(watch.Id);
            }
        }
    }

    // A round that throws is not a store outage (those wake the sockets, in Tick): a bug must not stop the host.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PollLoop.RunAsync(options.Value.LiveStatusPollInterval, Tick,
            ex => logger.LogError(ex, "Live status poll failed"), stoppingToken);

    /// <summary>One round: read the markers of every watched request and wake the watches whose marker moved.</summary>
    internal void Tick()
    {
        string[] ids;
        lock (_lock)
        {
            ids = [.. _watches.Keys];
        }
        if (ids.Length == 0)
        {
            return;
        }
        SwitchboardMetrics.LiveStatusTicks.Inc();
        Dictionary<string, string> markers;
        try
        {
            markers = ReadMarkers(ids);
        }
        catch (DbException ex)
        {
            // Each socket logs the outage once, with its request id.
            WakeAll(ex);
            return;
        }
        lock (_lock)
        {
            foreach (var (id, list) in _watches)
            {
                // A request that is gone (expired and purged) wakes its watches once: their read finds nothing and ends them.
                var marker = markers.GetValueOrDefault(id, "");
                foreach (var watch in list)
                {
                    if (watch.StoreError is not null || watch.Marker != marker)
                    {
                        watch.StoreError = null;
                        watch.Marker = marker;
                        watch.Wake();
                    }
                }
            }
        }
    }

    private void WakeAll(DbException error)
    {
        lock (_lock)
        {
            foreach (var watch in _watches.Values.SelectMany(l => l))
            {
                watch.StoreError = error;
                watch.Wake();
            }
        }
    }

    /// <summary>Request id → its change marker, for the ids that exist; one query per batch of ids.</summary>
    private Dictionary<string, string> ReadMarkers(string[] ids)
    {
        var markers = new Dictionary<string, StringBuilder>(StringComparer.Ordinal);
        using var connection = store.Open();
        foreach (var chunk in ids.Chunk(options.Value.LiveStatusBatch))
        {
            var names = string.Join(", ", chunk.Select((_, i) => "@i" + i));
            // The request's row by id, a deal's steps through requests_parent; ordered so a
            // marker is the same string for the same rows.
            using var command = connection.Sql(
                $"""
                SELECT id AS root, -1 AS step, run, status, attempts, updated_at FROM requests WHERE id IN ({names})
                UNION ALL
                SELECT parent, step, run, status, attempts, updated_at FROM requests WHERE parent IN ({names})
                ORDER BY 1, 2, 3
                """,
                [.. chunk.Select((id, i) => ("@i" + i, (object?)id))]);
            SwitchboardMetrics.LiveStatusStoreReads.Inc();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var root = reader.GetString(0);
                if (!markers.TryGetValue(root, out var marker))
                {
                    markers[root] = marker = new StringBuilder();
                }
                marker.Append(reader.GetInt64(1)).Append(':').Append(reader.GetInt64(2)).Append(':').Append(reader.GetString(3))
                    .Append(':').Append(reader.GetInt64(4)).Append(':').Append(reader.GetInt64(5)).Append(';');
            }
        }
        return markers.ToDictionary(m => m.Key, m => m.Value.ToString(), StringComparer.Ordinal);
    }

    /// <summary>One socket's interest in one request: woken when the request may have changed or the store failed.</summary>
    public sealed class Watch : IDisposable
    {
        private readonly LiveStatusPoller _poller;
        private readonly Channel<bool> _wakes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

        internal Watch(LiveStatusPoller poller, string id) => (_poller, Id) = (poller, id);

        public string Id { get; }

        /// <summary>The marker last seen (poller's lock); null until the first tick, and after a read that failed.</summary>
        internal string? Marker { get; set; }

        /// <summary>Why the last tick could not read the store, or null.</summary>
        public DbException? StoreError { get; internal set; }

        internal void Wake() => _wakes.Writer.TryWrite(true);

        /// <summary>Completes when the poller woke this watch (consumes the wake-up).</summary>
        public async Task WaitAsync(CancellationToken cancel)
        {
            await _wakes.Reader.ReadAsync(cancel);
        }

        /// <summary>The socket's own read failed: wake it again at the next tick that reads the store.</summary>
        public void Retry()
        {
            lock (_poller._lock)
            {
                Marker = null;
            }
        }

        public void Dispose() => _poller.Stop(this);
    }
}
