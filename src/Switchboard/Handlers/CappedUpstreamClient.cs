using System.Net;

namespace Switchboard.Handlers;

/// <summary>An upstream answer larger than the <c>api</c> config's <c>max_upstream_bytes</c> (or a streamed answer's line over its cap), found while it was read.</summary>
public sealed class UpstreamTooLargeException(long maxBytes, bool line = false)
    : IOException(line
        ? $"a line of the upstream's streamed answer is longer than {maxBytes} bytes"
        : $"the upstream's answer is larger than {maxBytes} bytes (api config max_upstream_bytes)")
{
    public long MaxBytes { get; } = maxBytes;
}

/// <summary>
/// An <see cref="HttpClient"/> for an SDK (the OpenAI SDK buffers whole answers) that reads at
/// most <c>maxBytes</c> of an answer: a declared length over the bound is refused before
/// reading, and a body that grows past it fails the read with <see cref="UpstreamTooLargeException"/>,
/// so the SDK never holds more than the bound. It sends through the named guarded client's
/// handler (<see cref="Outbound.OutboundGuard"/>, from the factory's pool, so connections are reused).
/// </summary>
public static class CappedUpstreamClient
{
    public static HttpClient Create(IHttpMessageHandlerFactory handlers, string name, long maxBytes) =>
        // The factory's handler outlives this client: disposing it here is the factory's no-op.
        new(new CapHandler(maxBytes) { InnerHandler = handlers.CreateHandler(name) }, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The <see cref="UpstreamTooLargeException"/> in <paramref name="exception"/>'s chain, if any.</summary>
    public static UpstreamTooLargeException? TooLargeIn(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is UpstreamTooLargeException tooLarge)
            {
                return tooLarge;
            }
        }
        return null;
    }

    private sealed class CapHandler(long maxBytes) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // A handler sees the answer at its headers: the body is read through a CappedStream.
            var response = await base.SendAsync(request, cancellationToken);
            if (response.Content.Headers.ContentLength > maxBytes)
            {
                response.Dispose();
                throw new UpstreamTooLargeException(maxBytes);
            }
            var inner = await response.Content.ReadAsStreamAsync(cancellationToken);
            var capped = new StreamContent(new CappedStream(inner, maxBytes));
            foreach (var (name, values) in response.Content.Headers)
            {
                capped.Headers.TryAddWithoutValidation(name, values);
            }
            response.Content = capped;
            return response;
        }
    }
}

/// <summary>Turns what an SDK call threw on the way (no answer read) into the codes <see cref="UpstreamErrors"/> uses.</summary>
public static class TransportErrors
{
    /// <summary>A classified failure for an exception with no upstream status, or null when it is not a transport failure.</summary>
    public static HandlerException? Classify(Exception exception, string profile, ILogger logger)
    {
        if (CappedUpstreamClient.TooLargeIn(exception) is { } tooLarge)
        {
            return HandlerException.Permanent(UpstreamBody.TooLargeCode, tooLarge.Message);
        }
        if (Outbound.OutboundGuard.WasRefused(exception))
        {
            logger.LogWarning("Endpoint profile {Endpoint}: {Reason}", profile, Innermost(exception).Message);
            return new HandlerException(OutboundCodes.AddressRefused, "the upstream's address is not one this service may call", transient: false, inner: exception);
        }
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or IOException or System.Net.Sockets.SocketException or WebException)
            {
                return new HandlerException("upstream_unreachable", "the upstream API could not be reached", transient: true, inner: exception);
            }
        }
        return null;
    }

    private static Exception Innermost(Exception exception)
    {
        var e = exception;
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e;
    }
}
