namespace Switchboard.Tests.Cli;

public abstract class ManagementCommandTests(StoreKind kind) : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    [Fact]
    public async Task CreatingAUserPrintsItsKeyOnceAndStoresOnlyAHash()
    {
        var user = await App.CliJsonAsync("users", "create", "carol", "--admin", "--credits", "40", "--password", "s3cret-pass");

        var key = user["api_key"]!.GetValue<string>();
        Assert.StartsWith("sb_", key);
        Assert.Equal("carol", user["name"]!.GetValue<string>());
        var stored = App.Query(c =>
        {
            using var command = Storage.SqlExtensions.Sql(c, "SELECT k.key_hash, u.password_hash, u.is_admin FROM api_keys k JOIN users u ON u.id = k.user_id");
            using var reader = command.ExecuteReader();
            reader.Read();
            return (KeyHash: reader.GetString(0), PasswordHash: reader.GetString(1), Admin: reader.GetInt64(2));
        });
        Assert.DoesNotContain(key, stored.KeyHash);
        Assert.Equal(Users.ApiKeys.Hash(key), stored.KeyHash);
        Assert.DoesNotContain("s3cret-pass", stored.PasswordHash);
        Assert.Equal(1, stored.Admin);
        if (kind == StoreKind.Sqlite)
        {
            var dump = await File.ReadAllBytesAsync(Path.Combine(App.Store.Path, "switchboard.db"));
            Assert.DoesNotContain(key, System.Text.Encoding.UTF8.GetString(dump));
        }
    }

    [Fact]
    public async Task ADuplicateUserNameIsRefused()
    {
        await Infrastructure.Cli.CreateUser(App.Store, "dave", 0);

        var (exit, _, error) = await App.CliAsync("users", "create", "dave");

        Assert.Equal(1, exit);
        Assert.Contains("exists already", error);
    }

    [Fact]
    public async Task GrantingCreditsIsInTheLedger()
    {
        var (id, _) = await Infrastructure.Cli.CreateUser(App.Store, "erin", 10);

        var granted = await App.CliJsonAsync("credits", "grant", "erin", "25");
        var shown = await App.CliJsonAsync("credits", "show", "erin");

        Assert.Equal(35, granted["credits"]!.GetValue<long>());
        Assert.Equal(35, shown["credits"]!.GetValue<long>());
        Assert.Equal(["grant", "grant"], shown["ledger"]!.AsArray().Select(e => e!["kind"]!.GetValue<string>()));
        Assert.Equal(35, Ledger.Balance(App.Store, id));
        Ledger.AssertBalanced(App.Store);
    }

    [Theory]
    [InlineData("credits", "grant", "erin", "-5")]
    [InlineData("credits", "grant", "erin", "lots")]
    [InlineData("users", "create")]
    [InlineData("frobnicate")]
    public async Task BadArgumentsExitWithUsage(params string[] args)
    {
        await Infrastructure.Cli.CreateUser(App.Store, "erin", 0);

        var (exit, _, error) = await App.CliAsync(args);

        Assert.Equal(2, exit);
        Assert.Contains("Usage:", error);
    }

    [Fact]
    public async Task KeysCanBeAddedAndRevokedByPrefix()
    {
        await Infrastructure.Cli.CreateUser(App.Store, "frank", 0);
        var created = await App.CliJsonAsync("keys", "create", "frank");
        var key = created["api_key"]!.GetValue<string>();

        var revoked = await App.CliJsonAsync("keys", "revoke", key[..11]);
        var again = await App.CliAsync("keys", "revoke", key[..11]);

        Assert.Equal(1, revoked["revoked"]!.GetValue<int>());
        Assert.Equal(1, again.Exit);
        Assert.Null(new Users.ApiKeyCache(App.Store.Store).Find(key));
    }

    [Fact]
    public async Task UnknownUsersAreReportedNotCrashedOn()
    {
        foreach (var args in new[] { new[] { "keys", "create", "nobody" }, ["credits", "grant", "nobody", "5"], ["credits", "show", "nobody"] })
        {
            var (exit, _, error) = await App.CliAsync(args);
            Assert.Equal(1, exit);
            Assert.Contains("no user named 'nobody'", error);
        }
        Assert.Empty((await App.CliAsync("users", "list")).Out.Trim().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonNode.Parse(l)));
    }
}

public sealed class ManagementCommandOnSqlite() : ManagementCommandTests(StoreKind.Sqlite);

public sealed class ManagementCommandOnPostgres() : ManagementCommandTests(StoreKind.Postgres);
