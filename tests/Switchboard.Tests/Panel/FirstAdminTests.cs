using Switchboard.Admin.Panel;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The first <c>serve</c> on an empty store creates the admin <c>admin</c> with a random
/// password, printed once on stderr in a framed block with the panel's URL (the log only says
/// so, at Warning) and stored only as a hash; that password opens the panel,
/// whose dashboard reads the store of either kind. A second start creates nothing.
/// </summary>
public abstract class FirstAdminTests(StoreKind kind)
{
    [Fact]
    public async Task TheFirstServeOnAnEmptyStoreCreatesAnAdminWhosePasswordOpensThePanel()
    {
        await using var app = await TestApp.StartAsync(kind);
        var store = app.Store;
        string password;
        await using (var serve = await SwitchboardProcess.Start(store))
        {
            // The log says so at Warning; the password itself is in a framed block on stderr,
            // written once the server listens (its reading may lag a little behind /readyz).
            await Wait.Until(() => serve.StderrLines.Any(l => l.StartsWith(FirstAdmin.PasswordLabel, StringComparison.Ordinal)),
                TimeSpan.FromSeconds(10), "the password line on stderr");
            var entry = serve.Logs.Single(e => e["Message"]!.GetValue<string>().StartsWith("No users yet: created the admin", StringComparison.Ordinal));
            Assert.Equal("Warning", entry["LogLevel"]!.GetValue<string>());
            var banner = serve.StderrLines.ToList();
            password = banner.Single(l => l.StartsWith(FirstAdmin.PasswordLabel, StringComparison.Ordinal))[FirstAdmin.PasswordLabel.Length..];
            Assert.Contains($"   Panel:     {serve.Address}admin/", banner);
            Assert.Contains("   User:      admin", banner);
            Assert.True(password.Length >= 20);
            Assert.DoesNotContain(serve.StdoutLines, l => l.Contains(password, StringComparison.Ordinal));
            var (isAdmin, hash) = store.Query(c =>
            {
                using var command = c.Sql("SELECT is_admin, password_hash FROM users WHERE name = 'admin'");
                using var reader = command.ExecuteReader();
                Assert.True(reader.Read());
                return (reader.GetInt64(0) != 0, reader.GetString(1));
            });
            Assert.True(isAdmin);
            Assert.DoesNotContain(password, hash, StringComparison.Ordinal);

            using var client = PanelSession.HttpClient(serve.Address!, new CookieContainer());
            Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(client, "admin", password)).StatusCode);
            var dashboard = await client.GetAsync("/admin/");
            Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
            Assert.Contains("Requests per minute, last 24 h", await dashboard.Content.ReadAsStringAsync());
        }
        await using (var again = await SwitchboardProcess.Start(store))
        {
            Assert.False(again.Logged("No users yet"));
            Assert.Equal(1L, store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM users")));
        }
    }
}

public sealed class FirstAdminOnSqlite() : FirstAdminTests(StoreKind.Sqlite);

public sealed class FirstAdminOnPostgres() : FirstAdminTests(StoreKind.Postgres);
