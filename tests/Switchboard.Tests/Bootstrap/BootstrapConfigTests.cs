using Npgsql;
using Switchboard.Config;

namespace Switchboard.Tests.Bootstrap;

/// <summary>The bootstrap config (--config): what it reads, and how it says what is wrong.</summary>
public sealed class BootstrapConfigTests : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite);

    private static readonly Dictionary<string, string> Env = new()
    {
        ["PG_URI"] = "postgres://sb:p%40ss@db.internal:6543/switchboard?sslmode=disable",
        ["REDIS_HOST"] = "cache.internal",
        ["REDIS_PORT"] = "6380",
    };

    private string Write(string yaml)
    {
        var path = Path.Combine(App.Store.Path, $"bootstrap-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private BootstrapConfig Load(string yaml) => BootstrapConfig.Load(Write(yaml), name => Env.GetValueOrDefault(name));

    [Fact]
    public void TheDistributedConfigReadsItsServersFromTheEnvironment()
    {
        var config = Load("""
            version: 1.0
            meta:
              source: postgres
            postgres: {uri: !ENV ${PG_URI}}
            redis:
              uri: !ENV "redis://${REDIS_HOST}:${REDIS_PORT}/2"
              prefix: prod
            """);

        Assert.Equal(StoreKind.Postgres, config.Source);
        Assert.Equal(Env["PG_URI"], config.PostgresUri);
        Assert.Equal("redis://cache.internal:6380/2", config.RedisUri);
        Assert.Equal("prod", config.RedisPrefix);
    }

    [Fact]
    public void WithoutRedisTheQueueIsInProcessAndSqliteIsTheDefault()
    {
        var config = Load("version: 1.0\n");

        Assert.Equal(StoreKind.Sqlite, config.Source);
        Assert.Null(config.RedisUri);
        Assert.Equal("./data/switchboard.db", config.SqlitePath);
        Assert.Equal(BootstrapConfig.DefaultRedisPrefix, config.RedisPrefix);
    }

    [Theory]
    [InlineData("version: 1.0\npostgres: {uri: !ENV ${NOT_SET_ANYWHERE}}\n", "environment variable NOT_SET_ANYWHERE is not set (needed by postgres.uri)")]
    [InlineData("version: 1.0\nredis:\n  uri: !ENV \"redis://${REDIS_HOST}:${MISSING_PORT}\"\n", "MISSING_PORT is not set (needed by redis.uri)")]
    [InlineData("version: 1.0\nredis: {uri: !ENV ${REDIS_HOST}\n", "")]
    [InlineData("version: 1.0\nredis: {uri: !SECRET abc}\n", "unknown tag '!SECRET' at redis.uri")]
    [InlineData("meta: {source: postgres}\n", "'version' is missing")]
    [InlineData("version: 2.0\n", "this build reads version 1.x")]
    [InlineData("version: 1.0\nmeta: {source: mongodb}\n", "'meta.source' is 'mongodb'; it must be sqlite or postgres")]
    [InlineData("version: 1.0\nmeta: {source: postgres}\n", "'postgres.uri' is missing")]
    [InlineData("version: 1.0\nredis: [a, b]\n", "'redis' must be a mapping")]
    [InlineData("version: 1.0\nredis: {uri: 'localhost:6379', prefix: 'a{b}'}\n", "'redis.prefix' must be a non-empty name")]
    [InlineData("- just\n- a list\n", "the config must be a YAML mapping")]
    [InlineData("version: 1.0\nfernet_key: not-a-key-hunter2\n", "Fernet key 1 is not 32 bytes of url-safe base64")]
    [InlineData("version: 1.0\nfernet_key: a\nfernet_keys: [a]\n", "give 'fernet_key' or 'fernet_keys', not both")]
    [InlineData("version: 1.0\nfernet_keys: []\n", "'fernet_keys' must be a non-empty list")]
    [InlineData("version: 1.0\nmeta: {collection: 'app configs'}\n", "'meta.collection' is 'app configs'; it must be a table name")]
    [InlineData("version: 1.0\nmeta: {ids: [api]}\n", "'meta.ids' must be a mapping of config id to version")]
    [InlineData("version: 1.0\nmeta: {ids: {api: [1]}}\n", "'meta.ids.api' must be a version such as 1.0")]
    public void AConfigThatCannotBeUsedIsAnErrorNamingTheFileAndTheProblem(string yaml, string message)
    {
        var path = Write(yaml);
        var error = Assert.Throws<BootstrapException>(() => BootstrapConfig.Load(path, name => Env.GetValueOrDefault(name)));

        Assert.StartsWith(path + ":", error.Message);
        Assert.Contains(message, error.Message);
        Assert.DoesNotContain("hunter2", error.Message);
    }

    [Fact]
    public void MetaIdsKeepTheVersionsAsWrittenAndTheKeysAreRead()
    {
        var key = Fernet.GenerateKey();
        var old = Fernet.GenerateKey();
        var path = Write($$"""
            version: 1.0
            meta:
              source: sqlite
              collection: !ENV${CFG_COLLECTION}
              ids:
                api: 1.0
                service_map: 1.10
                svc_handlers: "2.0-rc1"
                resource_map: active
                recon:
            fernet_keys: [!ENV "${NEW_KEY}", {{old}}]
            """);

        var config = BootstrapConfig.Load(path, name => name switch { "CFG_COLLECTION" => "app_configs", "NEW_KEY" => key, _ => null });

        Assert.Equal("app_configs", config.ConfigTable);
        Assert.Equal(new Dictionary<string, string?> { ["api"] = "1.0", ["service_map"] = "1.10", ["svc_handlers"] = "2.0-rc1", ["resource_map"] = null, ["recon"] = null }, config.ConfigIds);
        Assert.Equal([key, old], config.FernetKeys);
        var token = new Fernet(old).Encrypt("x"u8.ToArray());
        Assert.Equal("x"u8.ToArray(), config.Keys()!.Decrypt(token));
        Assert.NotNull(new Fernet(key).Decrypt(config.Keys()!.Encrypt([1])));
    }

    [Fact]
    public void AMissingVariableIsReportedWithItsLineAndColumn()
    {
        var path = Write("version: 1.0\nmeta: {source: postgres}\npostgres:\n  uri: !ENV ${NOPE}\n");

        var error = Assert.Throws<BootstrapException>(() => BootstrapConfig.Load(path, _ => null));

        Assert.StartsWith($"{path}:4:8:", error.Message);
    }

    [Fact]
    public void APostgresUrlBecomesAConnectionString()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresUri.ToConnectionString(Env["PG_URI"]));

        Assert.Equal("db.internal", builder.Host);
        Assert.Equal(6543, builder.Port);
        Assert.Equal("switchboard", builder.Database);
        Assert.Equal("sb", builder.Username);
        Assert.Equal("p@ss", builder.Password);
        Assert.Equal(SslMode.Disable, builder.SslMode);
        Assert.Equal("localhost", new NpgsqlConnectionStringBuilder(PostgresUri.ToConnectionString("Host=localhost;Username=x")).Host);
    }

    [Theory]
    [InlineData("postgres://user:hunter2@/nohost")]
    [InlineData("Host=x;Password=hunter2;NoSuchOption=1")]
    [InlineData("postgres://user:hunter2@host/db?nosuchoption=1")]
    public void ABadPostgresUriIsRefusedWithoutEchoingThePassword(string uri)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => PostgresUri.ToConnectionString(uri));

        Assert.DoesNotContain("hunter2", error.Message);
    }

    [Theory]
    [InlineData("executor")]
    [InlineData("recon")]
    [InlineData("api")]
    public async Task ARoleAloneWithoutASharedQueueRefusesToStart(string role)
    {
        var (exit, _, error) = await App.CliAsync(role);

        Assert.Equal(1, exit);
        Assert.Contains($"the {role} role runs beside other processes and needs a shared queue", error);
    }

    [Fact]
    public async Task AMissingConfigFileIsAClearErrorForEveryCommand()
    {
        var missing = Path.Combine(App.Store.Path, "nope.yaml");
        foreach (var args in new[] { new[] { "users", "list", "--config", missing }, ["serve", "--config", missing] })
        {
            var output = new StringWriter();
            var error = new StringWriter();
            var exit = await Switchboard.Cli.CommandLine.RunAsync(args, output, error);

            Assert.Equal(1, exit);
            Assert.Contains($"cannot read the config file {missing}", error.ToString());
        }
    }
}
