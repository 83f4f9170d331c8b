using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Switchboard.Hosting;
using Switchboard.Usage;

namespace Switchboard.Tests.Usage;

/// <summary>Counting in memory and flushing to <c>usage_minutes</c>: exact under concurrency, additive, kept through a failed flush, written on stop.</summary>
public abstract class UsageStoreTests(StoreKind kind) : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    /// <summary>Makes the store fail every write of usage; <see cref="Repair"/> undoes it.</summary>
    protected abstract void Break();

    protected abstract void Repair();

    private static readonly DateTimeOffset Minute = new(2030, 1, 2, 3, 4, 0, TimeSpan.Zero);

    private UsageFlusher Flusher(UsageRecorder recorder) =>
        new(recorder, App.Store.Store, Options.Create(new SwitchboardOptions { UsageFlushInterval = TimeSpan.FromHours(1) }), NullLogger<UsageFlusher>.Instance);

    private Dictionary<UsageKey, UsageTotals> Stored() => App.Store.Query(c =>
    {
        using var command = c.Sql("SELECT minute, resource, handler, user_id, calls, integration_credits, user_credits, errors, latency_sum_ms, latency_max_ms FROM usage_minutes");
        using var reader = command.ExecuteReader();
        var rows = new Dictionary<UsageKey, UsageTotals>();
        while (reader.Read())
        {
            rows.Add(
                new UsageKey(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)),
                new UsageTotals(reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9)));
        }
        return rows;
    });

    [Fact]
    public async Task ConcurrentRecordsAddUpExactlyAcrossFlushesRacingWithThem()
    {
        const int threads = 8, perThread = 10_000;
        var recorder = new UsageRecorder();
        var flusher = Flusher(recorder);
        var expected = new Dictionary<UsageKey, UsageTotals>();
        for (var t = 0; t < threads; t++)
        {
            for (var i = 0; i < perThread; i++)
            {
                var (key, totals) = Attempt(t, i);
                expected[key] = expected.TryGetValue(key, out var sum) ? sum.Add(totals) : totals;
            }
        }

        using var start = new Barrier(threads + 1);
        var flushes = 0;
        var recording = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < perThread; i++)
            {
                if (i % 2000 == 1000)
                {
                    // Flushes must go on while every thread records: at least 4 before the end.
                    while (Volatile.Read(ref flushes) < i / 2000)
                    {
                        Thread.Sleep(1);
                    }
                }
                var (key, totals) = Attempt(t, i);
                recorder.Record(key.Resource.Length == 0 ? null : key.Resource, key.Handler, key.UserId, totals.IntegrationCredits, totals.UserCredits,
                    totals.Errors == 1, TimeSpan.FromMilliseconds(totals.LatencySumMs), DateTimeOffset.FromUnixTimeMilliseconds(key.Minute).AddSeconds(i % 60));
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        start.SignalAndWait();
        while (!recording.All(r => r.IsCompleted))
        {
            Assert.True(await flusher.FlushAsync());
            Interlocked.Increment(ref flushes);
        }
        await Task.WhenAll(recording);
        Assert.True(await flusher.FlushAsync());

        var stored = Stored();
        Assert.True(flushes >= 4, $"only {flushes} flush(es) ran while recording");
        Assert.Equal(expected.Count, stored.Count);
        foreach (var (key, totals) in expected)
        {
            Assert.Equal(totals, stored[key]);
        }
        Assert.Equal(threads * perThread, stored.Values.Sum(t => t.Calls));
    }

    /// <summary>Attempt i of thread t: spread over 2 minutes, 2 resources, 2 handlers, 2 users.</summary>
    private static (UsageKey Key, UsageTotals Totals) Attempt(int t, int i)
    {
        var key = new UsageKey(
            Minute.AddMinutes(i % 2).ToUnixTimeMilliseconds(),
            i % 3 == 0 ? "" : "gpu",
            i % 5 < 2 ? "echo.render" : "openai.chat",
            t % 2 == 0 ? "u_even" : "u_odd");
        var latency = (t * 7919 + i * 31) % 4001;
        return (key, new UsageTotals(1, i % 4, (i % 7) + 1, i % 11 == 0 ? 1 : 0, latency, latency));
    }

    [Fact]
    public async Task FlushesIntoTheSameMinuteAddUpAndKeepTheLargestLatency()
    {
        var recorder = new UsageRecorder();
        var flusher = Flusher(recorder);
        recorder.Record("gpu", "openai.chat", "u_1", 2, 5, false, TimeSpan.FromMilliseconds(10), Minute);
        recorder.Record("gpu", "openai.chat", "u_1", 2, 5, true, TimeSpan.FromMilliseconds(20), Minute.AddSeconds(59.9));
        Assert.True(await flusher.FlushAsync());
        recorder.Record("gpu", "openai.chat", "u_1", 1, 3, false, TimeSpan.FromMilliseconds(5), Minute.AddSeconds(30));
        Assert.True(await flusher.FlushAsync());
        var key = new UsageKey(Minute.ToUnixTimeMilliseconds(), "gpu", "openai.chat", "u_1");
        Assert.Equal(new UsageTotals(3, 5, 13, 1, 35, 20), Stored()[key]);

        recorder.Record("gpu", "openai.chat", "u_1", 0, 0, false, TimeSpan.FromMilliseconds(50), Minute.AddSeconds(1));
        recorder.Record("gpu", "openai.chat", "u_1", 0, 0, false, TimeSpan.FromMilliseconds(1), Minute.AddMinutes(1));
        Assert.True(await flusher.FlushAsync());

        var stored = Stored();
        Assert.Equal(new UsageTotals(4, 5, 13, 1, 85, 50), stored[key]);
        Assert.Equal(new UsageTotals(1, 0, 0, 0, 1, 1), stored[key with { Minute = key.Minute + 60_000 }]);
        Assert.True(await flusher.FlushAsync());
        Assert.Equal(2, Stored().Count);
    }

    [Fact]
    public async Task AFlushThatFailsKeepsItsCountsAndALaterFlushWritesThem()
    {
        var recorder = new UsageRecorder();
        var flusher = Flusher(recorder);
        recorder.Record(null, "echo.render", "u_1", 1, 4, false, TimeSpan.FromMilliseconds(30), Minute);
        recorder.Record("gpu", "openai.chat", "u_2", 7, 9, true, TimeSpan.FromMilliseconds(900), Minute);
        Stored(); // the store works before

        Break();
        try
        {
            Assert.False(await flusher.FlushAsync());
            recorder.Record(null, "echo.render", "u_1", 1, 4, false, TimeSpan.FromMilliseconds(70), Minute.AddSeconds(5));
            Assert.False(await flusher.FlushAsync());
            Assert.Equal(2, flusher.PendingKeys);
        }
        finally
        {
            Repair();
        }
        Assert.Empty(Stored());

        recorder.Record(null, "echo.render", "u_1", 1, 4, false, TimeSpan.FromMilliseconds(20), Minute.AddSeconds(10));
        // PostgreSQL: the writer finds its connection was ended and opens a new one for the next batch.
        var written = false;
        for (var i = 0; i < 3 && !written; i++)
        {
            written = await flusher.FlushAsync();
        }

        Assert.True(written);
        Assert.Equal(0, flusher.PendingKeys);
        var stored = Stored();
        var minute = Minute.ToUnixTimeMilliseconds();
        Assert.Equal(new UsageTotals(3, 3, 12, 0, 120, 70), stored[new UsageKey(minute, "", "echo.render", "u_1")]);
        Assert.Equal(new UsageTotals(1, 7, 9, 1, 900, 900), stored[new UsageKey(minute, "gpu", "openai.chat", "u_2")]);
        Assert.Equal(2, stored.Count);
    }

    [Fact]
    public async Task KeptCountsAreBoundedByDroppingTheOldestMinutes()
    {
        var recorder = new UsageRecorder();
        var flusher = new UsageFlusher(recorder, App.Store.Store, Options.Create(new SwitchboardOptions()), NullLogger<UsageFlusher>.Instance) { MaxPendingKeys = 3 };
        for (var m = 0; m < 5; m++)
        {
            recorder.Record(null, "echo.render", "u_1", 0, 0, false, TimeSpan.Zero, Minute.AddMinutes(m));
        }
        Break();
        try
        {
            Assert.False(await flusher.FlushAsync());
        }
        finally
        {
            Repair();
        }
        for (var i = 0; i < 3 && !await flusher.FlushAsync(); i++)
        {
        }

        Assert.Equal(
            [Minute.AddMinutes(2).ToUnixTimeMilliseconds(), Minute.AddMinutes(3).ToUnixTimeMilliseconds(), Minute.AddMinutes(4).ToUnixTimeMilliseconds()],
            Stored().Keys.Select(k => k.Minute).Order());
    }

    [Fact]
    public async Task TheRegisteredFlusherWritesOnItsIntervalAndTheRestWhenTheHostStops()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(App.Store.Store);
        builder.Services.Configure<SwitchboardOptions>(o => o.UsageFlushInterval = TimeSpan.FromMilliseconds(50));
        builder.Services.AddUsage();
        using var host = builder.Build();
        var recorder = host.Services.GetRequiredService<UsageRecorder>();
        Assert.Same(host.Services.GetRequiredService<UsageFlusher>(), host.Services.GetServices<IHostedService>().OfType<UsageFlusher>().Single());
        await host.StartAsync();

        recorder.Record("gpu", "openai.chat", "u_1", 1, 2, false, TimeSpan.FromMilliseconds(3), Minute);
        await Wait.Until(() => Stored().Count > 0, TimeSpan.FromSeconds(10), "the flusher to store the minute");
        Assert.Single(Stored());

        // Recorded after the last tick and before the stop: only StopAsync can write it.
        await host.Services.GetRequiredService<UsageFlusher>().FlushAsync();
        recorder.Record("gpu", "openai.chat", "u_1", 1, 2, true, TimeSpan.FromMilliseconds(9), Minute);
        recorder.Record(null, "echo.render", "u_2", 0, 1, false, TimeSpan.FromMilliseconds(1), Minute);
        await host.StopAsync();

        var stored = Stored();
        Assert.Equal(new UsageTotals(2, 2, 4, 1, 12, 9), stored[new UsageKey(Minute.ToUnixTimeMilliseconds(), "gpu", "openai.chat", "u_1")]);
        Assert.Equal(new UsageTotals(1, 0, 1, 0, 1, 1), stored[new UsageKey(Minute.ToUnixTimeMilliseconds(), "", "echo.render", "u_2")]);
    }

    [Fact]
    public async Task StopAsyncWritesWhatIsLeft()
    {
        var recorder = new UsageRecorder();
        var flusher = Flusher(recorder);
        await flusher.StartAsync(CancellationToken.None);
        recorder.Record("gpu", "openai.chat", "u_1", 4, 6, false, TimeSpan.FromMilliseconds(12), Minute);

        await flusher.StopAsync(CancellationToken.None);

        Assert.Equal(new UsageTotals(1, 4, 6, 0, 12, 12), Assert.Single(Stored()).Value);
    }
}

/// <summary>SQLite: the table is renamed away, so every usage write fails in the store (and the writer goes on).</summary>
public sealed class UsageStoreOnSqlite() : UsageStoreTests(StoreKind.Sqlite)
{
    protected override void Break() => App.Store.Store.Write(c => c.Execute("ALTER TABLE usage_minutes RENAME TO usage_minutes_away"));

    protected override void Repair() => App.Store.Store.Write(c => c.Execute("ALTER TABLE usage_minutes_away RENAME TO usage_minutes"));
}

/// <summary>PostgreSQL: the database refuses connections and its sessions are ended (the server is unreachable for this store).</summary>
public sealed class UsageStoreOnPostgres() : UsageStoreTests(StoreKind.Postgres)
{
    protected override void Break() => App.Store.SetConnections(allowed: false);

    protected override void Repair()
    {
        App.Store.SetConnections(allowed: true);
        NpgsqlConnection.ClearAllPools();
    }
}
