// The change feed's latency (bench/run-feed.sh): the time from a change's Publish (what the
// lifecycle calls right after a commit) to a follower's ReadAsync returning it, in another
// process through Redis pub/sub, or in the same process through the local feed.
//
//   FeedLatency follow redis <redis-uri> <prefix> <rate/s> <seconds>   starts a publisher child, follows
//   FeedLatency follow local - - <rate/s> <seconds>                     both in this process
//   FeedLatency publish redis <redis-uri> <prefix> <rate/s> <seconds>   (the child)
//
// Each change is a Partial change of one request whose text is the publisher's wall clock in
// ticks (both processes on one machine read the same clock); the last one is "end". Prints
// "bench: key value" lines.
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Switchboard.Live;
using Switchboard.Queue;

var (mode, transport, uri, prefix) = (args[0], args[1], args[2], args[3]);
var (rate, seconds) = (int.Parse(args[4]), int.Parse(args[5]));
const string Request = "bench-request";

var hub = new ChangeHub();
DistributedChangeFeed? feed = null;
if (transport == "redis")
{
    var settings = RedisSettings.Parse(uri, prefix);
    var redis = await ConnectionMultiplexer.ConnectAsync(settings.Options.Clone());
    feed = new RedisChangeFeed(redis, settings, hub, NullLogger<RedisChangeFeed>.Instance);
    await feed.StartAsync(CancellationToken.None);
}
IChangePublisher publisher = feed ?? (IChangePublisher)new LocalChangePublisher(hub);

if (mode == "publish")
{
    // Until the follower says it is subscribed (it answers the first "ping" it sees).
    using (var ready = hub.Subscribe("bench-ready"))
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answered = ready.ReadAsync(wait.Token).AsTask();
        while (!answered.IsCompleted)
        {
            publisher.Publish(new RequestChange("bench-ping", ChangeKind.Status));
            await Task.WhenAny(answered, Task.Delay(100));
        }
        await answered;
    }
    await Publish();
    await Task.Delay(1000);
    await feed!.StopAsync(CancellationToken.None);
    return;
}

using var follower = hub.Subscribe(Request);
var latencies = new List<double>(rate * seconds);
Process? child = null;
if (feed is not null)
{
    using var ping = hub.Subscribe("bench-ping");
    child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["publish", transport, uri, prefix, args[4], args[5]]))!;
    await ping.ReadAsync(CancellationToken.None);
    publisher.Publish(new RequestChange("bench-ready", ChangeKind.Status));
}
else
{
    _ = Task.Run(Publish);
}
while (true)
{
    var change = await follower.ReadAsync(CancellationToken.None);
    var now = DateTime.UtcNow.Ticks;
    if (change.Text == "end")
    {
        break;
    }
    latencies.Add((now - long.Parse(change.Text!)) / 10_000.0);
}
child?.WaitForExit();
latencies.Sort();
double Percentile(double p) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];
Console.WriteLine($"bench: received {latencies.Count}");
Console.WriteLine($"bench: dropped {follower.PartialsDropped}");
Console.WriteLine($"bench: p50_ms {Percentile(0.50):0.###}");
Console.WriteLine($"bench: p99_ms {Percentile(0.99):0.###}");
Console.WriteLine($"bench: max_ms {latencies[^1]:0.###}");
if (feed is not null)
{
    await feed.StopAsync(CancellationToken.None);
}

// rate changes a second for `seconds`, in ticks of 10 ms (a burst of rate/100 each), then "end".
async Task Publish()
{
    var perTick = Math.Max(1, rate / 100);
    var clock = Stopwatch.StartNew();
    for (var tick = 0; tick < seconds * 100; tick++)
    {
        for (var i = 0; i < perTick; i++)
        {
            publisher.Publish(new RequestChange(Request, ChangeKind.Partial, DateTime.UtcNow.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        var next = (tick + 1) * 10L - clock.ElapsedMilliseconds;
        if (next > 0)
        {
            await Task.Delay((int)next);
        }
    }
    publisher.Publish(new RequestChange(Request, ChangeKind.Partial, "end"));
}
