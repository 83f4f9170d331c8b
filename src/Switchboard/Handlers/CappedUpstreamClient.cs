using System.Net;

namespace Switchboard.Handlers;

/// <summary>An upstream answer larger than the <c>api</c> config's <c>max_upstream_bytes</c>, found while an SDK read it.</summary>
public sealed class UpstreamTooLargeException(long maxBytes)
    : IOException($"the upstream's answer is larger than {maxBytes} bytes (api config max_upstream_bytes)")
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
            // A handler sees the answer at its headers: the body is read through the capped stream below.
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

    /// <summary>A read-only stream that fails once more than <c>maxBytes</c> came through it.</summary>
    private sealed class CappedStream(Stream inner, long maxBytes) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int read)
        {
            _read += read;
            return _read > maxBytes ? throw new UpstreamTooLargeException(maxBytes) : read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
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
