// Paced: the open-loop load generator of bench/run-latency.sh. It POSTs unique JSON bodies
// ({"text":"<tag>-<phase>-<i>"}, as bench/submit.lua) at a fixed rate and measures every
// request's latency from the time it was SCHEDULED to go (t0 + i/RATE), not from the time it
// was sent:
//
//   BENCH_KEY=… Paced --url http://127.0.0.1:PORT [--path /svc/bench/echo/] --rate R/s
//                     --duration S [--warmup S] [--connections C] [--tag T] [--timeout S]
//
// Why not wrk: wrk is a closed loop (each connection sends its next request when the previous
// one is answered), so a slow answer delays the requests behind it and their wait is never
// measured (coordinated omission); it measures how fast a backlog is worked off, not the latency
// at a given load. Why not autocannon 9 (-R, overall rate): its latency is also taken from the
// moment a connection actually sends; its -C/--correctCoordinatedOmission option (off by
// default) back-fills the samples it expects to have missed from the interval, HdrHistogram
// style, an estimate rather than a measurement of each request, and it would add a Node process
// and npm packages to a benchmark that needs neither. Here the schedule is fixed before the run
// and does not wait for answers: a request whose connection is busy waits in SocketsHttpHandler's
// queue, and that wait, like any lateness of this program's own pacing thread, is inside its
// latency.
//
// Pacing: one thread sleeps until the next scheduled time (Thread.Sleep, 1 ms granularity on
// Linux) and then starts every request that is due. At a few thousand requests a second it
// starts them in small bursts about a millisecond apart; the lateness is counted in the latency
// (from the scheduled time) and reported separately as send_lag, so a reader can tell the
// generator's share. Spinning instead would take a whole core of the two the server runs on.
//
// The warm-up (same rate, unmeasured) runs first in the same process, so the measured phase
// starts on warm connections and JIT-compiled code on both sides; the measured phase starts
// once every warm-up request is answered, and t0_unix_ms (printed) is taken then, so the
// requests created at or after it in the store are exactly the measured ones.
//
// Output: "bench: key value" lines on stdout (as submit.lua's), errors on stderr.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

var opts = new Dictionary<string, string>(StringComparer.Ordinal);
for (var a = 0; a + 1 < args.Length; a += 2)
{
    if (!args[a].StartsWith("--", StringComparison.Ordinal))
    {
        return Usage($"unexpected argument {args[a]}");
    }
    opts[args[a][2..]] = args[a + 1];
}
if (args.Length % 2 != 0)
{
    return Usage($"{args[^1]} has no value");
}
string Opt(string name, string fallback) => opts.TryGetValue(name, out var v) ? v : fallback;
double Num(string name, string fallback) => double.Parse(Opt(name, fallback), CultureInfo.InvariantCulture);

if (!opts.ContainsKey("url") || !opts.ContainsKey("rate") || !opts.ContainsKey("duration"))
{
    return Usage("--url, --rate and --duration are required");
}
var key = Environment.GetEnvironmentVariable("BENCH_KEY");
if (string.IsNullOrEmpty(key))
{
    return Usage("BENCH_KEY is not set");
}
var target = new Uri(new Uri(opts["url"]), Opt("path", "/svc/bench/echo/"));
var rate = Num("rate", "0");
var duration = Num("duration", "0");
var warmup = Num("warmup", "0");
var connections = (int)Num("connections", "64");
var tag = Opt("tag", "paced");
var timeout = TimeSpan.FromSeconds(Num("timeout", "30"));
if (rate <= 0 || duration <= 0 || warmup < 0 || connections < 1)
{
    return Usage("--rate and --duration must be > 0, --warmup >= 0, --connections >= 1");
}

using var client = new HttpClient(new SocketsHttpHandler
{
    MaxConnectionsPerServer = connections,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    UseCookies = false,
    UseProxy = false,
    AutomaticDecompression = DecompressionMethods.None,
})
{
    Timeout = timeout,
    DefaultRequestVersion = HttpVersion.Version11,
    DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
};
var auth = new AuthenticationHeaderValue("Bearer", key);
var json = new MediaTypeHeaderValue("application/json");

if (warmup > 0)
{
    var w = Run("warm", warmup);
    Console.Error.WriteLine($"paced: warm-up {w.Sent} requests at {rate}/s, {w.Accepted} accepted, {w.Errors} errors, p99 {Ms(w.Percentile(99)):F2} ms");
    Console.WriteLine($"bench: warmup_sent {w.Sent}");
    Console.WriteLine($"bench: warmup_not_202 {w.Sent - w.Accepted}");
}

var t0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
var m = Run("run", duration);
var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;

void Say(string name, FormattableString value) => Console.WriteLine($"bench: {name} {value.ToString(CultureInfo.InvariantCulture)}");
Say("t0_unix_ms", $"{t0}");
Say("rate_target", $"{rate:F1}");
Say("connections", $"{connections}");
Say("sent", $"{m.Sent}");
Say("answered", $"{m.Answered}");
Say("accepted_202", $"{m.Accepted}");
Say("other_2xx", $"{m.Other2xx}");
Say("non_2xx", $"{m.Non2xx}");
Say("errors", $"{m.Errors}");
Say("send_seconds", $"{m.SendSeconds:F3}");
Say("achieved_rate", $"{m.Sent / (m.SendSeconds + 1 / rate):F1}");
Say("seconds", $"{m.Seconds:F3}");
// Requests started and not yet answered, those waiting for a free connection included.
Say("max_in_flight", $"{m.MaxInFlight}");
foreach (var (p, label) in new[] { (50.0, "p50"), (90.0, "p90"), (99.0, "p99"), (99.9, "p999") })
{
    Say($"latency_{label}_ms", $"{Ms(m.Percentile(p)):F3}");
}
Say("latency_max_ms", $"{Ms(m.Percentile(100)):F3}");
Say("send_lag_p50_ms", $"{Ms(m.LagPercentile(50)):F3}");
Say("send_lag_p99_ms", $"{Ms(m.LagPercentile(99)):F3}");
Say("send_lag_max_ms", $"{Ms(m.LagPercentile(100)):F3}");
Say("generator_cpu_percent", $"{100 * cpu / m.Seconds:F1}");
return 0;

// One phase: Round(rate × seconds) requests, request i scheduled at start + i/rate; returns once
// every request is answered or has failed (at most --timeout after the last one was due).
Phase Run(string phase, double seconds)
{
    var p = new Phase((int)Math.Round(rate * seconds));
    var tasks = new Task[p.Sent];
    var ticksPerRequest = Stopwatch.Frequency / rate;
    var pacer = new Thread(() =>
    {
        var start = Stopwatch.GetTimestamp();
        p.Start = start;
        for (var i = 0; i < p.Sent;)
        {
            var now = Stopwatch.GetTimestamp();
            var due = start + (long)(i * ticksPerRequest);
            if (due > now)
            {
                // Whole milliseconds, at least one: Sleep(0) would only yield, a spin on 2 cores.
                Thread.Sleep(Math.Max(1, (int)((due - now) * 1000 / Stopwatch.Frequency)));
                continue;
            }
            for (; i < p.Sent && (due = start + (long)(i * ticksPerRequest)) <= now; i++)
            {
                p.Lag[i] = now - due;
                tasks[i] = Send(p, i, due, Encoding.UTF8.GetBytes($"{{\"text\":\"{tag}-{phase}-{i}\"}}"));
            }
        }
        p.LastSend = Stopwatch.GetTimestamp();
    }) { IsBackground = true, Name = "pacer" };
    pacer.Start();
    pacer.Join();
    Task.WaitAll(tasks);
    p.End = Stopwatch.GetTimestamp();
    return p;
}

async Task Send(Phase p, int i, long due, byte[] body)
{
    var inFlight = Interlocked.Increment(ref p.InFlight);
    long max;
    while (inFlight > (max = Interlocked.Read(ref p.MaxInFlight)) && Interlocked.CompareExchange(ref p.MaxInFlight, inFlight, max) != max)
    {
    }
    var content = new ByteArrayContent(body);
    content.Headers.ContentType = json;
    using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = content };
    request.Headers.Authorization = auth;
    try
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
        p.Latency[i] = Stopwatch.GetTimestamp() - due;
        p.Status[i] = (int)response.StatusCode;
        if (p.Status[i] != 202 && Interlocked.Increment(ref p.Reported) <= 3)
        {
            Console.Error.WriteLine($"paced: status {p.Status[i]} {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
    {
        p.Latency[i] = Stopwatch.GetTimestamp() - due;
        p.Status[i] = -1;
        if (Interlocked.Increment(ref p.Reported) <= 3)
        {
            Console.Error.WriteLine($"paced: error {e.GetType().Name}: {e.Message}");
        }
    }
    finally
    {
        Interlocked.Decrement(ref p.InFlight);
    }
}

static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

static int Usage(string problem)
{
    Console.Error.WriteLine($"paced: {problem}");
    Console.Error.WriteLine("usage: BENCH_KEY=… Paced --url URL [--path P] --rate R --duration S [--warmup S] [--connections C] [--tag T] [--timeout S]");
    return 2;
}

// The results of one phase, per request i: latency from its scheduled time (Stopwatch ticks),
// HTTP status (-1: no answer), and how late the pacer started it.
sealed class Phase(int n)
{
    public readonly int Sent = n;
    public readonly long[] Latency = new long[n];
    public readonly int[] Status = new int[n];
    public readonly long[] Lag = new long[n];
    public long Start, LastSend, End, InFlight, MaxInFlight;
    public int Reported;

    public int Answered => Status.Count(s => s > 0);
    public int Accepted => Status.Count(s => s == 202);
    public int Other2xx => Status.Count(s => s is >= 200 and < 300 and not 202);
    public int Non2xx => Status.Count(s => s is > 0 and (< 200 or >= 300));
    public int Errors => Status.Count(s => s <= 0);
    public double SendSeconds => (double)(LastSend - Start) / Stopwatch.Frequency;
    public double Seconds => (double)(End - Start) / Stopwatch.Frequency;

    // Nearest rank over the answered requests (100: the maximum).
    public long Percentile(double p) => Rank(Latency.Where((_, i) => Status[i] > 0).ToArray(), p);
    public long LagPercentile(double p) => Rank((long[])Lag.Clone(), p);

    private static long Rank(long[] values, double p)
    {
        if (values.Length == 0)
        {
            return 0;
        }
        Array.Sort(values);
        var rank = (int)Math.Ceiling(p / 100 * values.Length);
        return values[Math.Clamp(rank - 1, 0, values.Length - 1)];
    }
}
