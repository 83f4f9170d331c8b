using System.Net;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Panel;

/// <summary>
/// The first <c>serve</c> on an empty store creates the admin <c>admin</c> with a random
/// password, logged once at Warning and stored only as a hash; that password opens the panel,
/// whose dashboard reads the store of either kind. A second start creates nothing.
/// </summary>
public sealed class FirstAdminTests
{
    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task TheFirstServeOnAnEmptyStoreCreatesAnAdminWhosePasswordOpensThePanel(StoreKind kind)
    {
        await using var store = TestStore.Create(kind);
        string password;
        await using (var serve = await SwitchboardProcess.Start(store))
        {
            // The line is written before Kestrel listens; its reading from stdout may lag a little.
            for (var i = 0; i < 50 && !serve.Logged("No users yet"); i++)
            {
                await Task.Delay(100);
            }
            var entry = serve.Logs.Single(e => e["Message"]!.GetValue<string>().StartsWith("No users yet: created the admin", StringComparison.Ordinal));
            Assert.Equal("Warning", entry["LogLevel"]!.GetValue<string>());
            // The password is printed on stderr, never in a (shipped) log line.
            var printed = serve.StderrLines.Single(l => l.StartsWith("switchboard: no users yet: created the admin 'admin' with the password ", StringComparison.Ordinal));
            password = printed.Split(' ')[11];
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
