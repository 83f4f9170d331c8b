using Switchboard.Outbound;

namespace Switchboard.Handlers.Plugins;

/// <summary>
/// The primary handler of the <see cref="HttpClient"/> a plugin's handler may take in its
/// constructor: the outbound guard (checked addresses, no redirects, no proxy, no cookies) once
/// the process's <see cref="OutboundOptions"/> are known. The handler is made at registration,
/// before the options are, so the guard is bound when they are first read (at start); a call
/// before that (from the constructor) fails.
/// </summary>
public sealed class PluginOutbound : DelegatingHandler
{
    private int _bound;

    public void Bind(OutboundOptions options)
    {
        // Options are built once per container; a second build (none today) keeps the first guard.
        if (Interlocked.Exchange(ref _bound, 1) == 0)
        {
            InnerHandler = OutboundGuard.CreateHandler(options);
        }
    }

    /// <summary>A client on this handler with no timeout of its own (the job's token is the timeout), as the built-ins' clients.</summary>
    public HttpClient CreateClient() => new(this, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Volatile.Read(ref _bound) == 0
            ? throw new InvalidOperationException("a plugin's HttpClient works once the process has started, not in its handler's constructor")
            : base.SendAsync(request, cancellationToken);
}
