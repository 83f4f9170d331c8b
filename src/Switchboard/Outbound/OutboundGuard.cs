using System.Net;
using System.Net.Sockets;

namespace Switchboard.Outbound;

/// <summary>A connection refused by <see cref="OutboundGuard"/>: the host resolved only to addresses outbound calls may not reach.</summary>
public sealed class OutboundAddressRefusedException(string message) : Exception(message);

/// <summary>
/// The one way Switchboard connects to the outside: a <see cref="SocketsHttpHandler"/> whose
/// ConnectCallback resolves the host itself, checks each address with <see cref="AddressPolicy"/>
/// and connects to an address it checked (no second resolution, so DNS rebinding cannot slip a
/// private address in between). Redirects are not followed (a 3xx is the upstream's answer) and
/// no proxy is used, so the checked address is the one connected to. A ConnectCallback is the
/// framework's hook for exactly this; the address table itself is ours (.NET has none).
/// </summary>
public static class OutboundGuard
{
    /// <summary>A handler for an HttpClient that only reaches addresses <paramref name="options"/> allow.</summary>
    public static SocketsHttpHandler CreateHandler(OutboundOptions options) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(30),
        ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, options, cancellationToken),
    };

    /// <summary>True when <paramref name="exception"/> (or what it wraps) is the guard's refusal.</summary>
    public static bool WasRefused(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is OutboundAddressRefusedException)
            {
                return true;
            }
        }
        return false;
    }

    public static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, OutboundOptions options, CancellationToken cancellationToken)
    {
        // IPAddress.TryParse reads every literal form (decimal 2130706433, 0x7f.1, octal, [::ffff:…]).
        var host = endpoint.Host.Trim('[', ']');
        IPAddress[] addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(a => AddressPolicy.IsAllowed(a, options)).ToArray();
        if (allowed.Length == 0)
        {
            // No address in the message: the reason is enough, and the host is the operator's to know.
            throw new OutboundAddressRefusedException(addresses.Length == 0
                ? "the upstream host has no address"
                : "the upstream host resolves only to addresses outbound calls may not reach (loopback, private, link-local or metadata)");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
