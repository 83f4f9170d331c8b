using System.Data.Common;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Options;
using Switchboard.Errors;
using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Requests;

/// <summary>
/// Live status, <c>GET /svc/request/{id}/ws</c>: a WebSocket that sends the request object (as
/// <c>GET /svc/request/{id}/</c> shows it, without the queue estimate, which moves on its own) at
/// once and again at each change, then closes normally once the request has finished. The
/// process's <see cref="LiveStatusPoller"/> reads the change markers of every watched request in
/// batches and wakes a socket only when its request changed; the socket then reads its request
/// (a primary-key read; a deal's steps with it). Changes made by any process of a deployment
/// show, and nothing new has to be kept or published. Each socket holds a lease of
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

    public static async Task<IResult> Handle(
        string id, HttpContext http, Store store, LiveChannels channels, LiveStatusPoller poller, ApiKeyCache keys,
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
        using var watch = poller.Start(id);
        // Not cancellable: a cancelled receive aborts the socket, and the server's own close must still go out.
        var clientClosed = WaitForClose(socket);
        var (status, json) = first;
        var storeDown = false;
        var logger = logs.CreateLogger(typeof(LiveStatusSocket));
        try
        {
            await Send(socket, json, stop.Token);
            // One pending wait of each kind, renewed only once it completed.
            var wake = watch.WaitAsync(stop.Token);
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
                wake = watch.WaitAsync(stop.Token);
                (string Status, string Json)? now;
                try
                {
                    now = watch.StoreError is { } error ? throw error : Read(store, id, userId);
                }
                catch (DbException ex)
                {
                    // The store is down for a moment: the socket stays open and is woken again
                    // once the store answers. Logged once per outage, not at every tick.
                    if (!storeDown)
                    {
                        logger.LogWarning(ex, "Live status of request {RequestId}: the store could not be read", id);
                    }
                    storeDown = true;
                    watch.Retry();
                    continue;
                }
                storeDown = false;
                if (now is not { } read)
                {
                    break;
                }
                if (read.Json != json)
                {
                    (status, json) = read;
                    await Send(socket, json, stop.Token);
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
