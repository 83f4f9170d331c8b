using StackExchange.Redis;
using Switchboard.Queue;

namespace Switchboard.Tests.QueueContract;

public sealed class RedisSettingsTests
{
    [Fact]
    public void ARedisUriGivesHostPortDatabaseAndCredentials()
    {
        var settings = RedisSettings.Parse("redis://app:s3cr%40t@cache.internal:6380/2");

        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(settings.Options.EndPoints));
        Assert.Equal(("cache.internal", 6380), (endpoint.Host, endpoint.Port));
        Assert.Equal(2, settings.Options.DefaultDatabase);
        Assert.Equal("app", settings.Options.User);
        Assert.Equal("s3cr@t", settings.Options.Password);
        Assert.False(settings.Options.Ssl);
        Assert.False(settings.Options.AbortOnConnectFail);
        Assert.Equal("cache.internal:6380/2", settings.Description);
        Assert.Equal("switchboard", settings.KeyPrefix);
        Assert.Equal("{switchboard}:jobs", (string?)settings.Key("jobs"));
    }

    [Fact]
    public void RedissMeansTlsAndTheDefaultPortAndDatabaseApply()
    {
        var settings = RedisSettings.Parse("rediss://:only-a-password@redis.example.com", "tenant-a");

        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(settings.Options.EndPoints));
        Assert.Equal(6379, endpoint.Port);
        Assert.True(settings.Options.Ssl);
        Assert.Null(settings.Options.User);
        Assert.Equal("only-a-password", settings.Options.Password);
        Assert.Equal("redis.example.com:6379/0 (tls)", settings.Description);
        Assert.Equal("{tenant-a}:held", (string?)settings.Key("held"));
    }

    [Fact]
    public void AConfigurationStringIsAcceptedToo()
    {
        var settings = RedisSettings.Parse("127.0.0.1:6390,password=hunter2,defaultDatabase=3");

        Assert.Equal("hunter2", settings.Options.Password);
        Assert.Equal(3, settings.Options.DefaultDatabase);
        Assert.False(settings.Options.AbortOnConnectFail);
        Assert.Equal("127.0.0.1:6390/3", settings.Description);
        Assert.DoesNotContain("hunter2", settings.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("http://user:hunter2@host:6379")]
    [InlineData("redis://user:hunter2@host:notaport")]
    [InlineData("redis://user:hunter2@host:6379/zero")]
    [InlineData("redis://user:hunter2@host:6379/0?ssl=true")]
    [InlineData("redis://user:hunter2@:6379")]
    [InlineData("host:6379,password=hunter2,nonsense=1")]
    public void ABadUriIsRejectedWithoutRepeatingThePassword(string uri)
    {
        var error = Assert.Throws<ArgumentException>(() => RedisSettings.Parse(uri));

        Assert.StartsWith("redis.uri is not valid", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadKeyPrefixIsRejected() =>
        Assert.Throws<ArgumentException>(() => RedisSettings.Parse("redis://localhost", "a{b}"));

    [Fact]
    public void CommandsFailFastWhileDisconnected() =>
        Assert.Equal(BacklogPolicy.FailFast, RedisSettings.Parse("redis://localhost").Options.BacklogPolicy);
}
