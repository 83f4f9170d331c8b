using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Switchboard.Config;
using Switchboard.Outbound;
using Switchboard.Storage;

namespace Switchboard.Recon;

/// <summary>
/// Sends alert changes to the Discord webhook of the <c>recon</c> config, off recon's path:
/// <see cref="Post"/> only writes to a bounded channel (never waits; when full the notice is
/// dropped with a log line), and one background loop sends. At most
/// <c>discord.max_per_minute</c> messages a minute: changes over that are held (the latest per
/// alert and subject, <see cref="MaxHeld"/> at most) and sent together in one digest message as
/// soon as the limit allows, so a "resolved" is never lost to the limit. A 429 is retried after
/// Discord's <c>retry_after</c> (JSON body, seconds, or the Retry-After header); a 5xx or a
/// network error after a growing delay; either at most <see cref="MaxAttempts"/> times. Any other
/// status is final. The webhook URL is a secret: no log line has it.
/// </summary>
public sealed class DiscordNotifier : BackgroundService
{
    public const int MaxAttempts = 5;

    /// <summary>Alerts (by name and subject) held for the next digest at most; changes beyond are dropped and counted.</summary>
    public const int MaxHeld = 100;

    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    private readonly Channel<AlertNotice> _channel;
    private readonly HttpClient _http;
    private readonly Func<ReconConfig> _config;
    private readonly ILogger<DiscordNotifier> _logger;
    private readonly Queue<long> _sent = new();
    private readonly long _windowMs;

    /// <summary>Changes waiting for the rate limit: the first and the latest per alert and subject, in arrival order.</summary>
    private readonly OrderedDictionary<(string Alert, string Subject), (AlertNotice First, AlertNotice Last)> _held = [];
    private int _suppressed;

    /// <param name="config">The live recon config (read at each message: a new webhook applies at once).</param>
    /// <param name="retryBase">First delay after a 5xx or network error; doubled each time.</param>
    /// <param name="window">The span <c>max_per_minute</c> counts over: a minute (shorter in tests).</param>
    /// <param name="outbound">Where the webhook may point (the process's <c>Switchboard:Outbound</c>); the defaults refuse loopback and private addresses.</param>
    public DiscordNotifier(
        Func<ReconConfig> config, ILogger<DiscordNotifier> logger, OutboundOptions? outbound = null, TimeSpan? retryBase = null, TimeSpan? timeout = null,
        TimeSpan? window = null)
    {
        _config = config;
        _logger = logger;
        RetryBase = retryBase ?? TimeSpan.FromSeconds(1);
        _windowMs = (long)(window ?? TimeSpan.FromMinutes(1)).TotalMilliseconds;
        // Its own client, not IHttpClientFactory's: the factory's handlers log request URLs. The
        // guard's handler, as every outbound client: a webhook URL is config an admin may roll back.
        _http = new HttpClient(OutboundGuard.CreateHandler(outbound ?? new OutboundOptions()))
        {
            Timeout = timeout ?? TimeSpan.FromSeconds(10),
            // Discord answers with a few hundred bytes; a webhook host sending more is not read whole.
            MaxResponseContentBufferSize = 64 * 1024,
        };
        _channel = Channel.CreateBounded<AlertNotice>(
            new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            dropped => _logger.LogWarning("Alert message for {Alert} {Subject} dropped: 256 messages already wait to be sent", dropped.Alert, dropped.Subject));
    }

    public TimeSpan RetryBase { get; }

    /// <summary>Messages Discord accepted (for tests and the health endpoint).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    private long _delivered;

    /// <summary>Messages not sent because the webhook's address was refused by the outbound guard.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    private long _refused;

    /// <summary>Queues a notice; never blocks.</summary>
    public void Post(AlertNotice notice) => _channel.Writer.TryWrite(notice);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                var notice = await NextAsync(stoppingToken);
                var config = _config();
                if (config.DiscordWebhook is not { } webhook)
                {
                    _held.Clear(); // No webhook: alerts are logged and exported, nothing to send.
                    continue;
                }
                if (notice is not null)
                {
                    Hold(notice);
                }
                if (_held.Count == 0)
                {
                    continue;
                }
                if (TakeSlot(config.MaxMessagesPerMinute))
                {
                    await SendHeldAsync(webhook, stoppingToken);
                }
                else if (notice is not null)
                {
                    _logger.LogInformation("Alert message for {Alert} {Subject} held: over {PerMinute} messages a minute (discord.max_per_minute); it goes in the next digest",
                        notice.Alert, notice.Subject, config.MaxMessagesPerMinute);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: notices still queued or held are dropped (they were logged when they happened).
        }
    }

    /// <summary>The next notice; or null when notices are held and the rate limit may let them go now.</summary>
    private async Task<AlertNotice?> NextAsync(CancellationToken stoppingToken)
    {
        if (_channel.Reader.TryRead(out var ready))
        {
            return ready;
        }
        if (_held.Count == 0)
        {
            return await _channel.Reader.ReadAsync(stoppingToken);
        }
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        wake.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(1, _sent.TryPeek(out var oldest) ? oldest + _windowMs - Environment.TickCount64 : 1)));
        try
        {
            return await _channel.Reader.ReadAsync(wake.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private void Hold(AlertNotice notice)
    {
        var key = (notice.Alert, notice.Subject);
        if (_held.TryGetValue(key, out var held))
        {
            _held[key] = (held.First, notice);
        }
        else if (_held.Count < MaxHeld)
        {
            _held.Add(key, (notice, notice));
        }
        else
        {
            _suppressed++;
            _logger.LogWarning("Alert message for {Alert} {Subject} dropped: {Held} alerts already wait for the rate limit", notice.Alert, notice.Subject, MaxHeld);
        }
    }

    /// <summary>One message for what is held: the change itself when it is one, else a digest of all.</summary>
    private async Task SendHeldAsync(string webhook, CancellationToken stoppingToken)
    {
        var held = _held.Values.ToList();
        _held.Clear();
        var (payload, alert, subject) = held is [var one] && one.First == one.Last
            ? (Payload(one.Last, _suppressed), one.Last.Alert, one.Last.Subject)
            : (Digest(held, _suppressed), "digest", $"{held.Count} alerts");
        if (await SendAsync(webhook, payload, alert, subject, stoppingToken))
        {
            _suppressed = 0;
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    private bool TakeSlot(int perMinute)
    {
        var now = Environment.TickCount64;
        while (_sent.TryPeek(out var oldest) && oldest <= now - _windowMs)
        {
            _sent.Dequeue();
        }
        if (_sent.Count >= perMinute)
        {
            return false;
        }
        _sent.Enqueue(now);
        return true;
    }

    private async Task<bool> SendAsync(string webhook, JsonObject payload, string alert, string subject, CancellationToken stoppingToken)
    {
        var delay = RetryBase;
        for (var attempt = 1; ; attempt++)
        {
            TimeSpan wait;
            try
            {
                using var response = await _http.PostAsJsonAsync(webhook, payload, stoppingToken);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _delivered);
                    return true;
                }
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    wait = await RetryAfter(response, stoppingToken);
                }
                else if ((int)response.StatusCode >= 500)
                {
                    wait = delay;
                    delay *= 2;
                }
                else
                {
                    _logger.LogError("Discord refused the alert message for {Alert} {Subject} with {Status}; check discord.webhook in the recon config",
                        alert, subject, (int)response.StatusCode);
                    return false;
                }
                if (attempt < MaxAttempts)
                {
                    _logger.LogWarning("Discord answered {Status} to the alert message for {Alert} {Subject}; retrying in {Seconds:0.###} s",
                        (int)response.StatusCode, alert, subject, wait.TotalSeconds);
                }
            }
            catch (HttpRequestException ex) when (OutboundGuard.WasRefused(ex))
            {
                // Final: the webhook points somewhere outbound calls may not go; retrying changes nothing.
                Interlocked.Increment(ref _refused);
                _logger.LogError("The alert message for {Alert} {Subject} was not sent: discord.webhook points to an address outbound calls may not reach (Switchboard:Outbound)",
                    alert, subject);
                return false;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                wait = delay;
                delay *= 2;
                // The exception's message may hold the URL: only its type is logged.
                _logger.LogWarning("Could not reach Discord for the alert message for {Alert} {Subject} ({Error}); attempt {Attempt} of {Max}",
                    alert, subject, ex is TaskCanceledException ? "timeout" : ex.GetType().Name, attempt, MaxAttempts);
            }
            if (attempt >= MaxAttempts)
            {
                _logger.LogError("Gave up sending the alert message for {Alert} {Subject} to Discord after {Max} attempts", alert, subject, MaxAttempts);
                return false;
            }
            await Task.Delay(wait, stoppingToken);
        }
    }

    /// <summary>Discord's <c>retry_after</c> (seconds, a float, in the JSON body), else the Retry-After header, else a second; at most a minute.</summary>
    private static async Task<TimeSpan> RetryAfter(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        double? seconds = null;
        try
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (JsonNode.Parse(body) is JsonObject json && json["retry_after"] is JsonValue value && value.TryGetValue<double>(out var s))
            {
                seconds = s;
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not JSON: fall back to the header.
        }
        if (seconds is null && response.Headers.RetryAfter is { } header)
        {
            seconds = header.Delta?.TotalSeconds ?? (header.Date is { } date ? (date - DateTimeOffset.UtcNow).TotalSeconds : null);
        }
        if (seconds is null && response.Headers.TryGetValues("Retry-After", out var raw)
            && double.TryParse(raw.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
        {
            seconds = parsed;
        }
        var wait = TimeSpan.FromSeconds(Math.Max(0, seconds ?? 1));
        return wait > MaxRetryAfter ? MaxRetryAfter : wait;
    }

    /// <summary>One Discord message: a line of text and an embed (red when firing, green when resolved); no mentions.</summary>
    public static JsonObject Payload(AlertNotice notice, int suppressed)
    {
        var state = notice.Firing ? "FIRING" : "RESOLVED";
        var content = $"[{state}] {notice.Alert} {notice.Subject}: {notice.Summary}";
        content += Suppressed(suppressed);
        return new JsonObject
        {
            ["content"] = content.Length > 2000 ? content[..1997] + "..." : content,
            ["allowed_mentions"] = new JsonObject { ["parse"] = new JsonArray() },
            ["embeds"] = new JsonArray(new JsonObject
            {
                ["title"] = $"{state}: {notice.Alert} ({notice.Subject})",
                ["description"] = notice.Summary.Length > 4000 ? notice.Summary[..3997] + "..." : notice.Summary,
                ["color"] = notice.Firing ? 0xD83C3E : 0x2EA043,
                ["timestamp"] = Clock.Iso(notice.AtMs),
                ["fields"] = new JsonArray(
                    new JsonObject { ["name"] = "alert", ["value"] = notice.Alert, ["inline"] = true },
                    new JsonObject { ["name"] = "subject", ["value"] = notice.Subject, ["inline"] = true },
                    new JsonObject { ["name"] = notice.Firing ? "since" : "fired at", ["value"] = Clock.Iso(notice.SinceMs), ["inline"] = true }),
            }),
        };
    }

    private static string Suppressed(int count) =>
        count > 0 ? $" ({count} earlier alert messages were not sent: rate limit; see GET /admin/api/health)" : "";

    /// <summary>
    /// One message for the changes held back by the rate limit, oldest first: a line each in the
    /// text (an alert that fired and resolved meanwhile says so), and an embed each for the
    /// first ten (Discord's limit).
    /// </summary>
    public static JsonObject Digest(IReadOnlyList<(AlertNotice First, AlertNotice Last)> changes, int suppressed)
    {
        var lines = changes.Select(c =>
            $"[{(c.Last.Firing ? "FIRING" : c.First.Firing ? "FIRED AND RESOLVED" : "RESOLVED")}] {c.Last.Alert} {c.Last.Subject}: {c.Last.Summary}");
        var content = $"{changes.Count} alert changes held back by the rate limit (discord.max_per_minute){Suppressed(suppressed)}:\n{string.Join("\n", lines)}";
        return new JsonObject
        {
            ["content"] = content.Length > 2000 ? content[..1997] + "..." : content,
            ["allowed_mentions"] = new JsonObject { ["parse"] = new JsonArray() },
            ["embeds"] = new JsonArray([.. changes.Take(10).Select(c => (JsonNode)Payload(c.Last, 0)["embeds"]![0]!.DeepClone())]),
        };
    }
}
