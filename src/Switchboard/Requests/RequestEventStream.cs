using System.Data.Common;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Switchboard.Live;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Requests;

/// <summary>
/// <c>GET /svc/request/{id}/events</c>: the request's changes as Server-Sent Events, for
/// browsers (<c>EventSource</c>) and any HTTP client. The stream subscribes to this process's
/// <see cref="ChangeHub"/> before it reads the row, sends what the client has not seen
/// (<see cref="StreamEvents.After"/>, from its <c>Last-Event-ID</c>), then waits: nothing
/// polls and no timer runs per stream. Woken by a change of its request it reads the row again
/// (one read for any number of coalesced changes); a <c>partial</c> piece is passed on as it
/// came. It ends after <c>end</c>, when the client goes, when the server stops (the client
/// resumes elsewhere with <c>Last-Event-ID</c>), when the store cannot be read (likewise), and
/// when its caller may no longer follow the request: whenever keys or users change anywhere
/// (<see cref="ApiKeyCache.Changed"/>) a stream opened with an API key checks the key again,
/// one opened with a <c>stream_url</c> token checks that its user is still enabled.
/// Authentication: the <c>Authorization: Bearer</c> header as everywhere under <c>/svc</c>,
/// or the <c>token</c> of the 202 answer's <c>stream_url</c> (<see cref="StreamTokens"/>); the
/// token opens this endpoint only. Each stream holds a <see cref="LiveChannels"/> lease.
/// </summary>
public static class RequestEventStream
{
    public static string PathOf(string id) => $"/svc/request/{id}/events";

    public static async Task<IResult> Handle(
        string id, string? token, HttpContext http, Store store, StreamTokens tokens, ChangeHub hub, LiveChannels channels,
        ApiKeyCache keys, IHostApplicationLifetime lifetime, ILoggerFactory logs)
    {
        if (!RequestEndpoints.IsRequestId(id))
        {
            return RequestEndpoints.InvalidId();
        }
        // Before the caller is checked: a change of keys or users from here on makes the stream check again.
        var authAtStart = keys.Changed;
        // The header wins: a client that has a key uses it, and a token is only read without one.
        string userId;
        Func<bool> stillAllowed;
        if (http.HasAuthorization() || string.IsNullOrEmpty(token))
        {
            if (ApiKeyAuth.Authenticate(http) is { } problem)
            {
                return problem;
            }
            userId = http.User().Id;
            var key = http.PresentedApiKey();
            stillAllowed = () => keys.Find(key)?.Id == userId;
        }
        else
        {
            var (holder, problem) = tokens.Check(token, id);
            if (problem is not null)
            {
                return problem;
            }
            userId = holder!;
            stillAllowed = () => UserEnabled(store, userId);
            if (!stillAllowed())
            {
                return StreamTokens.Invalid();
            }
        }
        // Subscribed before the first read: a change committed in between wakes the stream.
        var subscription = hub.Subscribe(id);
        http.Response.RegisterForDispose(subscription);
        StreamEvents.Snapshot? now;
        using (var connection = store.Open())
        {
            now = StreamEvents.Read(connection, id, userId);
        }
        if (now is null)
        {
            return Errors.Problems.RequestNotFound();
        }
        var (first, seen) = StreamEvents.After(now, StreamEvents.Cursor.Parse(http.Request.Headers["Last-Event-ID"]));
        if (first.Count == 0 && now.IsFinished)
        {
            // The client saw the end already (an EventSource reconnects when a stream closes): 204 tells it to stop.
            return TypedResults.NoContent();
        }
        var lease = channels.TryAcquire(userId);
        if (lease is null)
        {
            return LiveChannels.Refused(http);
        }
        http.Response.RegisterForDispose(lease);
        if (first.Count > 0)
        {
            first[0] = first[0] with { ReconnectionInterval = StreamEvents.Retry };
        }
        var follow = new Follower(id, userId, store, subscription, keys, stillAllowed, logs.CreateLogger(typeof(RequestEventStream)));
        return TypedResults.ServerSentEvents(follow.Events(first, seen, now.IsFinished, authAtStart, lifetime.ApplicationStopping, http.RequestAborted));
    }

    private static bool UserEnabled(Store store, string userId)
    {
        using var connection = store.Open();
        return UserSecurity.State(connection, userId) is { Disabled: false };
    }

    private sealed class Follower(
        string id, string userId, Store store, ChangeSubscription subscription, ApiKeyCache keys, Func<bool> stillAllowed, ILogger logger)
    {
        /// <summary>What woke the stream.</summary>
        private enum Wake { Changed, AuthChanged, Stopped }

        public async IAsyncEnumerable<SseItem<string>> Events(
            List<SseItem<string>> first, StreamEvents.Cursor? seen, bool finished, CancellationToken authAtStart, CancellationToken stopping,
            CancellationToken aborted, [EnumeratorCancellation] CancellationToken cancel = default)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping, aborted, cancel);
            foreach (var item in first)
            {
                yield return item;
            }
            var partials = new List<string>();
            // Taken before each check of the caller, so a change of keys or users after the check wakes the stream.
            var authChanged = authAtStart;
            while (!finished)
            {
                var (wake, statusChanged) = await WaitAsync(partials, authChanged, stop.Token);
                foreach (var text in partials)
                {
                    yield return StreamEvents.PartialItem(text);
                }
                partials.Clear();
                if (wake == Wake.AuthChanged)
                {
                    authChanged = keys.Changed;
                }
                if (wake == Wake.Stopped || (wake == Wake.AuthChanged && !StillAllowed()))
                {
                    yield break;
                }
                if (!statusChanged)
                {
                    continue;
                }
                if (ReadNow() is not { } now)
                {
                    // Gone (purged), or the store failed: the client resumes with Last-Event-ID.
                    yield break;
                }
                (var events, seen) = StreamEvents.After(now, seen);
                foreach (var item in events)
                {
                    yield return item;
                }
                finished = now.IsFinished;
            }
        }

        /// <summary>
        /// Waits for a change of the request, a change of keys or users, or the end; then takes
        /// every change already waiting (partial pieces into <paramref name="partials"/>). True
        /// when a status or progress change was among them.
        /// </summary>
        private async Task<(Wake Wake, bool StatusChanged)> WaitAsync(List<string> partials, CancellationToken authChanged, CancellationToken stop)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop, authChanged);
            try
            {
                var change = await subscription.ReadAsync(wait.Token);
                var statusChanged = false;
                do
                {
                    if (change.Kind == ChangeKind.Partial)
                    {
                        partials.Add(change.Text ?? "");
                    }
                    else
                    {
                        statusChanged = true;
                    }
                }
                while (subscription.TryRead(out change));
                return (Wake.Changed, statusChanged);
            }
            catch (OperationCanceledException)
            {
                return (stop.IsCancellationRequested ? Wake.Stopped : Wake.AuthChanged, false);
            }
        }

        private bool StillAllowed()
        {
            try
            {
                return stillAllowed();
            }
            catch (DbException)
            {
                // Nothing new can be pushed while the store is down anyway; the next change checks again.
                return true;
            }
        }

        private StreamEvents.Snapshot? ReadNow()
        {
            try
            {
                using var connection = store.Open();
                return StreamEvents.Read(connection, id, userId);
            }
            catch (DbException ex)
            {
                logger.LogWarning(ex, "Event stream of request {RequestId}: the store could not be read; the stream ends and the client resumes", id);
                return null;
            }
        }
    }
}
