using System.Data.Common;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Options;
using Switchboard.Errors;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Live;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Requests;

/// <summary>
/// Live status, <c>GET /svc/request/{id}/ws</c>: a WebSocket that sends the request object (as
/// <c>GET /svc/request/{id}/</c> shows it, without the queue estimate, which moves on its own) at
/// once and again at each change (its status, a deal's step, stored progress), then closes
/// normally once the request has finished. The socket follows its request on the process's
/// <see cref="ChangeHub"/>, which the change feed fills with the changes committed by any process
/// of the deployment: it reads its request (a primary-key read; a deal's steps with it) only when
/// a change of it arrives, so an idle socket costs no store read. Partial output is not sent here
/// (the event stream carries it). Each socket holds a lease of
/// <see cref="LiveChannels"/> (429 before the upgrade when a cap is reached), and re-checks its
/// API key before every push and every <see cref="SwitchboardOptions.LiveKeyCheckInterval"/>:
/// a revoked key (or a user who is gone) gets close code 1008 and nothing more.
/// </summary>
public static class LiveStatusSocket
{
    private static readonly HashSet<string> Finished =
        [RequestStatus.Succeeded, RequestStatus.Failed, RequestStatus.Cancelled, RequestStatus.Expired];

    /// <summary>After its close frame, how long the server waits for the client's before it drops the connection.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    /// <summary>After a read the store refused, how long until the socket reads again.</summary>
    private static readonly TimeSpan StoreRetry = TimeSpan.FromMilliseconds(500);

    public static async Task<IResult> Handle(
        string id, HttpContext http, Store store, LiveChannels channels, ChangeHub hub, ApiKeyCache keys,
        IOptions<SwitchboardOptions> options, IHostApplicationLifetime lifetime, ILoggerFactory logs)
    {
        if (!RequestEndpoints.IsRequestId(id))
        {
            return RequestEndpoints.InvalidId();
        }
        var userId = http.User().Id;
        // Checked before the upgrade, so a wrong id or user gets the same problem+json as GET.
        if (Read(store, id, userId) is not { } first)
        {
            return Problems.RequestNotFound();
        }
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return Problems.Of(400, "websocket_required", "A WebSocket upgrade is required",
                $"Connect with a WebSocket client to follow the request live, or read it once at {RequestRecord.UrlOf(id)}.");
        }
        using var lease = channels.TryAcquire(userId);
        if (lease is null)
        {
            return LiveChannels.Refused(http);
        }
        var key = http.PresentedApiKey();
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        using var changes = hub.Subscribe(id);
        // Not cancellable: a cancelled receive aborts the socket, and the server's own close must still go out.
        var clientClosed = WaitForClose(socket);
        var (status, json) = first;
        var storeDown = false;
        var logger = logs.CreateLogger(typeof(LiveStatusSocket));
        try
        {
            await Send(socket, json, http.RequestAborted);
            // One pending wait of each kind, renewed only once it completed.
            // Read once more at once: a change committed between the first read and the
            // subscription would not wake the socket.
            var wake = Task.CompletedTask;
            var keyCheck = Task.Delay(options.Value.LiveKeyCheckInterval, stop.Token);
            while (!Finished.Contains(status))
            {
                var done = await Task.WhenAny(wake, keyCheck, clientClosed);
                if (done == clientClosed)
                {
                    // The client said goodbye: answer its close frame to end the handshake.
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, stop.Token);
                    }
                    return Results.Empty;
                }
                await done; // Throws when the server stops.
                if (!KeyStillValid(keys, key, userId))
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "api key no longer valid", stop.Token);
                    break;
                }
                if (done == keyCheck)
                {
                    keyCheck = Task.Delay(options.Value.LiveKeyCheckInterval, stop.Token);
                    continue;
                }
                // Any number of changes that waited meanwhile: one read covers them all.
                while (changes.TryRead(out _))
                {
                }
                (string Status, string Json)? now;
                try
                {
                    now = Read(store, id, userId);
                }
                catch (DbException ex)
                {
                    // The store is down for a moment: the socket stays open and reads again after
                    // StoreRetry (the change it missed is not sent again). Logged once per outage.
                    if (!storeDown)
                    {
                        logger.LogWarning(ex, "Live status of request {RequestId}: the store could not be read", id);
                    }
                    storeDown = true;
                    wake = Task.Delay(StoreRetry, stop.Token);
                    continue;
                }
                wake = NextChange(changes, stop.Token);
                storeDown = false;
                if (now is not { } read)
                {
                    break;
                }
                if (read.Json != json)
                {
                    (status, json) = read;
                    await Send(socket, json, http.RequestAborted);
                }
            }
            if (socket.State == WebSocketState.Open)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, status, stop.Token);
            }
        }
        catch (Exception) when (lifetime.ApplicationStopping.IsCancellationRequested && socket.State == WebSocketState.Open)
        {
            // Whatever stopping interrupted (a wait, or a read of a store being disposed), the
            // client is told the server is going away.
            await socket.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "server stopping", CancellationToken.None);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The client went away: nothing to send to.
            return Results.Empty;
        }
        await Task.WhenAny(clientClosed, Task.Delay(CloseWait, CancellationToken.None));
        return Results.Empty;
    }

    /// <summary>
    /// The key is looked up as every request's is (<see cref="ApiKeyCache"/>, emptied when keys or
    /// users change anywhere), so whatever stops a key from authenticating also ends its sockets.
    /// While the store cannot be read the socket is kept: nothing new can be pushed anyway.
    /// </summary>
    private static bool KeyStillValid(ApiKeyCache keys, string key, string userId)
    {
        try
        {
            return keys.Find(key)?.Id == userId;
        }
        catch (DbException)
        {
            return true;
        }
    }

    /// <summary>The request's status and its object as JSON, or null when this user has no such request.</summary>
    private static (string Status, string Json)? Read(Store store, string id, string userId)
    {
        using var connection = store.Open();
        if (RequestEndpoints.LoadOwn(connection, id, userId) is not { } request)
        {
            return null;
        }
        var json = request.Kind == "deal" ? Deals.DealView.ToJson(connection, request) : request.ToJson();
        return (request.Status, json.ToJsonString());
    }

    /// <summary>The next change of the request that the socket shows: status or progress (partial output is the event stream's).</summary>
    private static async Task NextChange(ChangeSubscription changes, CancellationToken cancel)
    {
        while ((await changes.ReadAsync(cancel)).Kind == ChangeKind.Partial)
        {
        }
    }

    // Cancelled only by the client going away, never by the server stopping: a WebSocket send
    // that is cancelled aborts the connection, and the client would get a reset instead of the
    // "server stopping" close (CI caught it, a stop landing during a send under load).
    private static Task Send(WebSocket socket, string json, CancellationToken cancel) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, cancel);

    /// <summary>Reads (and drops) what the client sends until it closes or the connection ends (the socket's disposal ends it too).</summary>
    private static async Task WaitForClose(WebSocket socket)
    {
        var buffer = new byte[1024];
        try
        {
            while ((await socket.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // Closed either way.
        }
    }
}
