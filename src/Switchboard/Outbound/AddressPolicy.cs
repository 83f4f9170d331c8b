using System.Net;
using System.Net.Sockets;

namespace Switchboard.Outbound;

/// <summary>What an address is, as far as outbound calls care.</summary>
public enum AddressKind
{
    Public,
    Loopback,
    Private,
    /// <summary>Never connected to: unspecified, multicast, broadcast, reserved, cloud metadata.</summary>
    Forbidden,
}

/// <summary>
/// Classifies the address a connection would go to. IPv4 inside IPv6 (mapped ::ffff:a.b.c.d,
/// compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged as the IPv4 address it
/// reaches. Written by hand because .NET has no such policy; the ranges are IANA's special-purpose registries.
/// </summary>
public static class AddressPolicy
{
    /// <summary>Cloud instance metadata and credential endpoints: refused even where private networks are allowed.</summary>
    private static readonly HashSet<IPAddress> Metadata =
    [
        IPAddress.Parse("169.254.169.254"), // AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        IPAddress.Parse("169.254.169.253"), // AWS DNS
        IPAddress.Parse("169.254.169.123"), // AWS time
        IPAddress.Parse("169.254.170.2"), // AWS ECS task credentials
        IPAddress.Parse("169.254.170.23"), // AWS EKS pod identity
        IPAddress.Parse("100.100.100.200"), // Alibaba Cloud
        IPAddress.Parse("192.0.0.192"), // Oracle Cloud
        IPAddress.Parse("fd00:ec2::254"), // AWS IMDS over IPv6
        IPAddress.Parse("fd00:ec2::23"), // AWS EKS pod identity over IPv6
    ];

    public static AddressKind Classify(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && EmbeddedIPv4(address) is { } v4)
        {
            address = v4;
        }
        if (Metadata.Contains(address))
        {
            return AddressKind.Forbidden;
        }
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => ClassifyV4(address.GetAddressBytes()),
            AddressFamily.InterNetworkV6 => ClassifyV6(address),
            _ => AddressKind.Forbidden,
        };
    }

    /// <summary>True when <paramref name="options"/> let a connection go to <paramref name="address"/>.</summary>
    public static bool IsAllowed(IPAddress address, OutboundOptions options) => Classify(address) switch
    {
        AddressKind.Public => true,
        AddressKind.Loopback => options.AllowLoopback,
        AddressKind.Private => options.AllowPrivateNetworks,
        _ => false,
    };

    private static AddressKind ClassifyV4(byte[] b) => (b[0], b[1]) switch
    {
        (0, _) => AddressKind.Forbidden, // "this network"; 0.0.0.0 reaches the local host on Linux
        (127, _) => AddressKind.Loopback,
        (10, _) or (172, >= 16 and <= 31) or (192, 168) => AddressKind.Private,
        (100, >= 64 and <= 127) => AddressKind.Private, // CGNAT
        (169, 254) => AddressKind.Private, // link-local (metadata addresses were refused above)
        (192, 0) when b[2] == 0 => AddressKind.Forbidden, // IETF protocol assignments
        (>= 224, _) => AddressKind.Forbidden, // multicast, reserved, broadcast
        _ => AddressKind.Public,
    };

    private static AddressKind ClassifyV6(IPAddress address)
    {
        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return AddressKind.Loopback;
        }
        var b = address.GetAddressBytes();
        if (address.Equals(IPAddress.IPv6None) || address.IsIPv6Multicast)
        {
            return AddressKind.Forbidden;
        }
        if ((b[0] & 0xFE) == 0xFC || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal)
        {
            return AddressKind.Private; // fc00::/7 unique local, fe80::/10, fec0::/10
        }
        return AddressKind.Public;
    }

    /// <summary>The IPv4 address an IPv6 address carries and routes to, if it is of a form that does.</summary>
    private static IPAddress? EmbeddedIPv4(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        var b = address.GetAddressBytes();
        var leadingZeros = b.Take(12).All(x => x == 0);
        if (leadingZeros && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1))
        {
            return new IPAddress(b[12..16]); // ::a.b.c.d (deprecated IPv4-compatible); :: and ::1 are judged as IPv6
        }
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b.Skip(4).Take(8).All(x => x == 0))
        {
            return new IPAddress(b[12..16]); // 64:ff9b::/96 NAT64
        }
        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return new IPAddress(b[2..6]); // 2002::/16 6to4
        }
        return null;
    }
}
