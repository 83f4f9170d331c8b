namespace Switchboard.Outbound;

/// <summary>
/// Which address ranges outbound calls (handlers, the Discord notifier, every later client) may
/// connect to (section <c>Switchboard:Outbound</c>). Process configuration only: nothing an admin
/// or a client can set widens it. Unspecified, multicast, broadcast and cloud metadata addresses
/// are refused whatever these say.
/// </summary>
public sealed class OutboundOptions
{
    public const string Section = "Switchboard:Outbound";

    /// <summary>127.0.0.0/8 and ::1 (an upstream on this machine, e.g. a local model server or a test's fake).</summary>
    public bool AllowLoopback { get; set; }

    /// <summary>RFC 1918, CGNAT 100.64.0.0/10, fc00::/7 and link-local (169.254.0.0/16, fe80::/10) except metadata addresses.</summary>
    public bool AllowPrivateNetworks { get; set; }
}
