using Microsoft.AspNetCore.Identity;
using Switchboard.Users;

namespace Switchboard.Tests.Security;

/// <summary>
/// The operator's user commands: a password read from stdin (never from the command line alone),
/// with the API's length rule; admin rights granted and removed; users disabled and enabled; a
/// new security stamp at each change that takes access away; never zero enabled admins.
/// </summary>
public abstract class UserSecurityCliTests(StoreKind kind) : AppTests
{
    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind);
        await PanelSession.CreateAdmin(app.Store, "root");
        await PanelApps.Ok(app.Store, "users", "create", "bob", "--password", PanelSession.Password);
        return app;
    }

    private (string Hash, string Stamp, bool Admin, bool Disabled) Row(string name) => App.Store.Query(c =>
    {
        var login = UserSecurity.ForLogin(c, name)!;
        return (login.PasswordHash!, login.Stamp, login.IsAdmin, login.Disabled);
    });

    [Fact]
    public async Task APasswordReadFromStdinReplacesTheOldOneAndTheStamp()
    {
        var before = Row("bob");

        var (exit, output, error) = await PanelApps.Cli(App.Store, "bob's new password\n", "users", "password", "bob", "--password-stdin");

        Assert.True(exit == 0, error);
        Assert.Equal("bob", JsonNode.Parse(output)!["name"]!.GetValue<string>());
        var after = Row("bob");
        Assert.NotEqual(before.Stamp, after.Stamp);
        Assert.Equal(PasswordVerificationResult.Success, PasswordHashes.Verify(after.Hash, "bob's new password"));
        Assert.Equal(PasswordVerificationResult.Failed, PasswordHashes.Verify(after.Hash, PanelSession.Password));
        Assert.DoesNotContain("new password", output + error);
    }

    [Fact]
    public async Task NoPasswordIsTakenFromTheCommandLineAlone()
    {
        var before = Row("bob");

        var onArgv = await PanelApps.Cli(App.Store, "", "users", "password", "bob", "--password", "an argv password");
        var noStdinFlag = await PanelApps.Cli(App.Store, "a piped password\n", "users", "password", "bob");
        var tooShort = await PanelApps.Cli(App.Store, "short\n", "users", "password", "bob", "--password-stdin");
        var empty = await PanelApps.Cli(App.Store, "", "users", "password", "bob", "--password-stdin");

        Assert.Equal(2, onArgv.Exit);
        Assert.Contains("--password-stdin", onArgv.Err);
        Assert.Equal(2, noStdinFlag.Exit);
        Assert.Contains("--password-stdin", noStdinFlag.Err);
        Assert.Equal(1, tooShort.Exit);
        Assert.Contains("at least 8 characters", tooShort.Err);
        Assert.Equal(2, empty.Exit);
        Assert.Equal(before, Row("bob"));
        Assert.Equal(1, (await PanelApps.Cli(App.Store, "a long password\n", "users", "password", "nobody", "--password-stdin")).Exit);
    }

    [Fact]
    public async Task AdminRightsAreGrantedAndRemovedAndRemovalChangesTheStamp()
    {
        await PanelApps.Ok(App.Store, "users", "grant-admin", "bob");
        var granted = Row("bob");
        Assert.True(granted.Admin);

        await PanelApps.Ok(App.Store, "users", "remove-admin", "bob");
        var removed = Row("bob");
        Assert.False(removed.Admin);
        Assert.NotEqual(granted.Stamp, removed.Stamp);
    }

    [Fact]
    public async Task UsersAreDisabledAndEnabledButNeverTheLastAdmin()
    {
        var stamp = Row("bob").Stamp;
        await PanelApps.Ok(App.Store, "users", "disable", "bob");
        Assert.True(Row("bob").Disabled);
        Assert.NotEqual(stamp, Row("bob").Stamp);
        await PanelApps.Ok(App.Store, "users", "enable", "bob");
        Assert.False(Row("bob").Disabled);

        foreach (var command in new[] { "disable", "remove-admin" })
        {
            var (exit, _, error) = await Infrastructure.Cli.Run(App.Store, "users", command, "root");
            Assert.Equal(1, exit);
            Assert.Contains("last enabled admin", error);
        }
        Assert.Equal((true, false), (Row("root").Admin, Row("root").Disabled));
        // With a second admin, the first may go.
        await PanelApps.Ok(App.Store, "users", "grant-admin", "bob");
        await PanelApps.Ok(App.Store, "users", "disable", "root");
        Assert.True(Row("root").Disabled);
    }
}

public sealed class UserSecurityCliOnSqlite() : UserSecurityCliTests(StoreKind.Sqlite);

public sealed class UserSecurityCliOnPostgres() : UserSecurityCliTests(StoreKind.Postgres);
