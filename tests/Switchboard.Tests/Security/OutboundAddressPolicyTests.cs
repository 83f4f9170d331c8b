using Switchboard.Outbound;

namespace Switchboard.Tests.Security;

/// <summary>The outbound guard's address table: what each address is and whether the settings let a call reach it.</summary>
public sealed class OutboundAddressPolicyTests
{
    private static readonly OutboundOptions Defaults = new();
    private static readonly OutboundOptions Everything = new() { AllowLoopback = true, AllowPrivateNetworks = true };

    [Theory]
    [InlineData("127.0.0.1", AddressKind.Loopback)]
    [InlineData("127.255.0.9", AddressKind.Loopback)]
    [InlineData("::1", AddressKind.Loopback)]
    [InlineData("::ffff:127.0.0.1", AddressKind.Loopback)]
    [InlineData("64:ff9b::7f00:1", AddressKind.Loopback)]
    [InlineData("10.1.2.3", AddressKind.Private)]
    [InlineData("172.16.0.1", AddressKind.Private)]
    [InlineData("172.31.255.255", AddressKind.Private)]
    [InlineData("192.168.1.1", AddressKind.Private)]
    [InlineData("100.64.0.1", AddressKind.Private)]
    [InlineData("100.127.255.254", AddressKind.Private)]
    [InlineData("169.254.1.1", AddressKind.Private)]
    [InlineData("fc00::1", AddressKind.Private)]
    [InlineData("fd12:3456::1", AddressKind.Private)]
    [InlineData("fe80::1", AddressKind.Private)]
    [InlineData("::ffff:10.0.0.1", AddressKind.Private)]
    [InlineData("2002:c0a8:0101::1", AddressKind.Private)]
    [InlineData("0.0.0.0", AddressKind.Forbidden)]
    [InlineData("::", AddressKind.Forbidden)]
    [InlineData("224.0.0.1", AddressKind.Forbidden)]
    [InlineData("255.255.255.255", AddressKind.Forbidden)]
    [InlineData("ff02::1", AddressKind.Forbidden)]
    [InlineData("169.254.169.254", AddressKind.Forbidden)]
    [InlineData("::ffff:169.254.169.254", AddressKind.Forbidden)]
    [InlineData("169.254.170.2", AddressKind.Forbidden)]
    [InlineData("fd00:ec2::254", AddressKind.Forbidden)]
    [InlineData("100.100.100.200", AddressKind.Forbidden)]
    [InlineData("8.8.8.8", AddressKind.Public)]
    [InlineData("172.32.0.1", AddressKind.Public)]
    [InlineData("100.128.0.1", AddressKind.Public)]
    [InlineData("2606:4700::1111", AddressKind.Public)]
    public void EachAddressIsClassifiedByWhereItLeads(string address, AddressKind kind) =>
        Assert.Equal(kind, AddressPolicy.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("2130706433")] // decimal
    [InlineData("0x7f.1")] // hex
    [InlineData("0177.0.0.1")] // octal
    [InlineData("127.1")]
    public void EveryLiteralFormOfLoopbackIsLoopback(string literal)
    {
        Assert.True(IPAddress.TryParse(literal, out var address), literal);
        Assert.Equal(AddressKind.Loopback, AddressPolicy.Classify(address));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.0.0.1")]
    [InlineData("169.254.1.1")]
    [InlineData("fd12::1")]
    public void LoopbackAndPrivateAddressesAreRefusedByDefault(string address)
    {
        Assert.False(AddressPolicy.IsAllowed(IPAddress.Parse(address), Defaults));
        Assert.True(AddressPolicy.IsAllowed(IPAddress.Parse(address), Everything));
    }

    [Theory]
    [InlineData("169.254.169.254")]
    [InlineData("169.254.170.2")]
    [InlineData("fd00:ec2::254")]
    [InlineData("100.100.100.200")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("0.0.0.0")]
    public void MetadataAndUnspecifiedAddressesAreRefusedEvenWhenLoopbackAndPrivateAreAllowed(string address) =>
        Assert.False(AddressPolicy.IsAllowed(IPAddress.Parse(address), Everything));

    [Fact]
    public void PublicAddressesAreAllowedByDefault() => Assert.True(AddressPolicy.IsAllowed(IPAddress.Parse("93.184.216.34"), Defaults));
}
