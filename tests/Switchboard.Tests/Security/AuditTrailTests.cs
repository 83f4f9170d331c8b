using System.Data.Common;
using System.Text;
using Switchboard.Audit;

namespace Switchboard.Tests.Security;

/// <summary>
/// The audit trail (Audit/): what admins do through the admin API and the panel, and what
/// operators do with the CLI, is recorded with who, from where, what and on what, never with a
/// secret in it; the store refuses to change or remove a row; the admin API and the CLI read
/// it back filtered and paged. On both stores, through a real serve process (the client's
/// address is the one Kestrel saw).
/// </summary>
public abstract class AuditTrailTests(StoreKind kind)
{
    private const string AdminPassword = "root password 1";
    private const string NewPassword = "carol's password";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Every stored row as one text (each column), to look for what must never be in it.</summary>
    private static string AllRows(TestStore store) => store.Query(c =>
    {
        using var command = c.Sql("SELECT id, at, actor, channel, address, action, target, status, details FROM audit_log");
        using var reader = command.ExecuteReader();
        var text = new StringBuilder();
        while (reader.Read())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                text.Append(reader.IsDBNull(i) ? "" : reader.GetValue(i)).Append('|');
            }
            text.AppendLine();
        }
        return text.ToString();
    });

    private static List<AuditEntry> Rows(TestStore store, AuditFilter? filter = null) => store.Query(c => AuditLog.Read(c, filter ?? new AuditFilter(Limit: AuditLog.MaxLimit)));

    private static void AssertStoresNone(TestStore store, params string[] secrets)
    {
        var stored = AllRows(store);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, stored);
        }
    }

    [Fact]
    public async Task AdminApiActionsAreRecordedWithWhoWhereWhatAndNoSecret()
    {
        await using var app = await TestApp.StartAsync(kind);
        var root = await app.CliJsonAsync("users", "create", "root", "--admin", "--password", AdminPassword, "--actor", "operator");
        var rootKey = root["api_key"]!.GetValue<string>();
        var serve = await app.StartServeAsync();
        using var admin = serve.Client(rootKey);

        var created = await admin.PostAsync("/admin/api/users", Json($$"""{"name": "carol", "password": "{{NewPassword}}", "credits": 5}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var carol = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var (carolKey, carolId) = (carol["api_key"]!.GetValue<string>(), carol["id"]!.GetValue<string>());
        var key = (await (await admin.PostAsync("/admin/api/users/carol/keys", null)).Content.ReadFromJsonAsync<JsonObject>())!;
        var secondKey = key["api_key"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/admin/api/users/carol/credits", Json("""{"kind": "grant", "amount": 7, "note": "welcome"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/admin/api/keys/{key["prefix"]!.GetValue<string>()}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/admin/api/users/by-id/{carolId}/rename", Json("""{"name": "carol2"}"""))).StatusCode);
        // Refused requests changed nothing and are not recorded.
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/admin/api/users", Json("""{"name": "../x"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/admin/api/users/carol2/credits", Json("""{"kind": "grant", "amount": "lots"}"""))).StatusCode);

        var page = (await admin.GetFromJsonAsync<JsonObject>("/admin/api/audit?actor=root"))!;
        var entries = page["entries"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal(
            ["POST /admin/api/users/by-id/{id}/rename", "DELETE /admin/api/keys/{prefix}", "POST /admin/api/users/{name}/credits", "POST /admin/api/users/{name}/keys", "POST /admin/api/users"],
            entries.Select(e => e["action"]!.GetValue<string>()));
        Assert.All(entries, e =>
        {
            Assert.Equal("root", e["actor"]!.GetValue<string>());
            Assert.Equal("api", e["channel"]!.GetValue<string>());
            Assert.Equal("127.0.0.1", e["address"]!.GetValue<string>());
            Assert.True(e["status"]!.GetValue<int>() is 200 or 201);
        });
        Assert.Equal([carolId, key["prefix"]!.GetValue<string>(), "carol", "carol", "carol"], entries.Select(e => e["target"]!.GetValue<string>()));
        var create = entries[^1]["details"]!["body"]!;
        Assert.Equal("carol", create["name"]!.GetValue<string>());
        Assert.Equal(AuditRedaction.Redacted, create["password"]!.GetValue<string>());
        Assert.Equal(7, entries[2]["details"]!["body"]!["amount"]!.GetValue<long>());
        Assert.Equal("carol2", entries[0]["details"]!["body"]!["name"]!.GetValue<string>());

        AssertStoresNone(app.Store, AdminPassword, NewPassword, rootKey, carolKey, secondKey);
    }

    [Fact]
    public async Task PanelActionsAreRecordedAsTheSignedInAdminWithoutPasswordsOrTokens()
    {
        await using var app = await TestApp.StartAsync(kind);
        await PanelSession.CreateAdmin(app.Store, "root");
        var serve = await app.StartServeAsync();
        using var panel = PanelSession.HttpClient(serve.Address!, new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(panel, "root", PanelSession.Password)).StatusCode);
        var token = await PanelSession.FormToken(panel, "/admin/users");

        var created = await panel.PostAsync("/admin/users", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["name"] = "dave",
            ["password"] = NewPassword,
            ["credits"] = "3",
        }));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var moved = await panel.PostAsync("/admin/users/dave/credits", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["kind"] = "adjust",
            ["amount"] = "-1",
            ["note"] = "typo",
        }));
        Assert.Equal(HttpStatusCode.Redirect, moved.StatusCode);
        // A form without its antiforgery token is refused before the page runs: not recorded.
        var forged = await panel.PostAsync("/admin/users/dave/keys", new FormUrlEncodedContent(new Dictionary<string, string>()));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);

        var rows = Rows(app.Store).Where(r => r.Channel != AuditLog.Cli).ToList();
        Assert.Equal(["POST /admin/users/{name}/credits", "POST /admin/users"], rows.Select(r => r.Action));
        Assert.All(rows, r =>
        {
            Assert.Equal("root", r.Actor);
            Assert.Equal(AuditLog.Panel, r.Channel);
            Assert.Equal("127.0.0.1", r.Address);
        });
        Assert.Equal(["dave", "dave"], rows.Select(r => r.Target));
        var body = JsonNode.Parse(rows[1].Details!)!["body"]!;
        Assert.Equal(AuditRedaction.Redacted, body["password"]!.GetValue<string>());
        Assert.Null(body["__RequestVerificationToken"]);
        Assert.Equal("-1", JsonNode.Parse(rows[0].Details!)!["body"]!["amount"]!.GetValue<string>());
        AssertStoresNone(app.Store, NewPassword, token);
    }

    [Fact]
    public async Task CliCommandsThatChangeSomethingAreRecordedAndReadBackByTheAuditCommand()
    {
        await using var app = await TestApp.StartAsync(kind);
        var boss = await app.CliJsonAsync("users", "create", "boss", "--admin", "--password", AdminPassword, "--actor", "ops-anna");
        var aliceKey = (await app.AddUserAsync("alice", 1)).Key;
        await app.CliJsonAsync("credits", "grant", "alice", "9", "--note", "bonus", "--actor", "ops-anna");
        var key = await app.CliJsonAsync("keys", "create", "alice");
        var pasted = await app.CliJsonAsync("keys", "create", "alice");
        // A whole key pasted where its prefix is asked for: the row keeps the prefix only.
        await app.CliJsonAsync("keys", "revoke", pasted["api_key"]!.GetValue<string>());
        await app.CliJsonAsync("users", "rename", "alice", "alice2");
        await app.ApplyCatalogAsync("""
            handlers:
              - {id: echo.render, credits: 1}
            offers:
              - {service: text, action: shout, handler: echo.render, price: 1, prompt_template: "Say {word}"}
            """);
        // Reads and refusals are not recorded.
        await app.CliAsync("users", "list");
        await app.CliAsync("credits", "show", "alice2");
        await app.CliAsync("users", "create", "bad/name");

        var rows = Rows(app.Store);
        Assert.Equal(["catalog apply", "users rename", "keys revoke", "keys create", "keys create", "credits grant", "users create", "users create"], rows.Select(r => r.Action));
        Assert.All(rows, r =>
        {
            Assert.Equal(AuditLog.Cli, r.Channel);
            Assert.Null(r.Address);
            Assert.Equal(Environment.UserName, JsonNode.Parse(r.Details!)!["os_user"]!.GetValue<string>());
        });
        Assert.EndsWith(".yaml", rows[0].Target);
        Assert.Equal(["alice", pasted["api_key"]!.GetValue<string>()[..11], "alice", "alice", "alice", "alice", "boss"], rows.Skip(1).Select(r => r.Target));
        Assert.Equal("ops-anna", rows[^1].Actor);
        Assert.Equal("ops-anna", rows[5].Actor);
        Assert.Equal(Environment.UserName, rows[1].Actor);
        Assert.Equal(AuditRedaction.Redacted, JsonNode.Parse(rows[^1].Details!)!["options"]!["password"]!.GetValue<string>());
        Assert.Equal("alice2", JsonNode.Parse(rows[1].Details!)!["args"]![0]!.GetValue<string>());
        AssertStoresNone(app.Store, AdminPassword, boss["api_key"]!.GetValue<string>(), aliceKey, key["api_key"]!.GetValue<string>(), pasted["api_key"]!.GetValue<string>());

        var (exit, output, _) = await app.CliAsync("audit", "--action", "users create", "--limit", "1");
        Assert.Equal(0, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("alice", JsonNode.Parse(Assert.Single(lines))!["target"]!.GetValue<string>());
        var bad = await app.CliAsync("audit", "--limit", "0");
        Assert.Equal(2, bad.Exit);
    }

    [Fact]
    public async Task ConfigCommandsAreRecordedWithoutTheSecretsTheyCarryOrShow()
    {
        await using var app = await TestApp.StartAsync(kind);
        var store = app.Store;
        var fernetKey = Switchboard.Config.Fernet.GenerateKey();
        var boot = store.WriteBootstrap("audit-configs.yaml", "", $"fernet_key: {fernetKey}");
        var file = Path.Combine(store.Path, "notes.yaml");
        await File.WriteAllTextAsync(file, "greeting: hello\n~token: sk-audit-secret\n");
        async Task Config(params string[] args)
        {
            var (exit, _, error) = await Infrastructure.Cli.RunArgs(["config", .. args, "--config", boot]);
            Assert.True(exit == 0, error);
        }

        await Config("push", file, "--id", "notes", "--author", "ops-anna");
        await Config("push", file, "--id", "notes", "--version", "2.0");
        await Config("rollback", "notes", "--to", "1.0", "--author", "ops-ben");
        await Config("show", "notes", "--reveal");
        await Config("show", "notes");
        await Config("list");

        var rows = Rows(store);
        Assert.Equal(["config show", "config rollback", "config push", "config push"], rows.Select(r => r.Action));
        Assert.Equal(["notes", "notes", file, file], rows.Select(r => r.Target));
        Assert.Equal("ops-ben", rows[1].Actor);
        Assert.Equal("ops-anna", rows[3].Actor);
        Assert.Equal("true", JsonNode.Parse(rows[0].Details!)!["options"]!["reveal"]!.GetValue<string>());
        AssertStoresNone(store, "sk-audit-secret", fernetKey);
    }

    [Fact]
    public async Task TheStoreRefusesToChangeOrRemoveAnAuditRow()
    {
        await using var app = await TestApp.StartAsync(kind);
        var store = app.Store;
        await store.Store.WriteAsync(c => AuditLog.Record(c, "root", AuditLog.Cli, null, "users create", "alice", 0, new JsonObject { ["x"] = 1 }));

        foreach (var sql in new[] { "UPDATE audit_log SET actor = 'nobody'", "DELETE FROM audit_log" })
        {
            var refused = await Assert.ThrowsAnyAsync<DbException>(() => store.Store.WriteAsync(c => c.Execute(sql)));
            Assert.Contains("append-only", refused.Message);
        }
        if (kind == StoreKind.Postgres)
        {
            await Assert.ThrowsAnyAsync<DbException>(() => store.Store.WriteAsync(c => c.Execute("TRUNCATE audit_log")));
        }
        var row = Assert.Single(Rows(store));
        Assert.Equal("root", row.Actor);
    }

    [Fact]
    public async Task ALoneSurrogateOrASecretLookingValueInARequestIsStoredSafely()
    {
        await using var app = await TestApp.StartAsync(kind);
        var store = app.Store;
        var fields = (JsonObject)JsonNode.Parse("""{"note": "a\ud800b", "lone": "\udc00", "nested": {"api_key": "x", "v": "sb_abcdefgh_0123456789", "w": ["sk-proj-0123456789abcdef"]}, "max_tokens": 5}""")!;

        await store.Store.WriteAsync(c => AuditLog.Record(c, "root\ud800", AuditLog.Api, "::1", "PUT /x", "t\ud800", 200, (JsonObject)AuditRedaction.Redact(fields)!));

        var row = Assert.Single(Rows(store));
        Assert.Equal("root\ufffd", row.Actor);
        Assert.Equal("t\ufffd", row.Target);
        var details = JsonNode.Parse(row.Details!)!;
        Assert.Equal(AuditRedaction.InvalidText, details["note"]!.GetValue<string>());
        Assert.Equal(AuditRedaction.InvalidText, details["lone"]!.GetValue<string>());
        Assert.Equal(AuditRedaction.Redacted, details["nested"]!["api_key"]!.GetValue<string>());
        Assert.Equal(AuditRedaction.Redacted, details["nested"]!["v"]!.GetValue<string>());
        Assert.Equal(AuditRedaction.Redacted, details["nested"]!["w"]![0]!.GetValue<string>());
        Assert.Equal(5, details["max_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task TheReadApiFiltersAndPagesNewestFirst()
    {
        await using var app = await TestApp.StartAsync(kind);
        var root = await app.CliJsonAsync("users", "create", "root", "--admin", "--password", AdminPassword, "--actor", "operator");
        await app.Store.Store.WriteAsync(c =>
        {
            for (var i = 0; i < 7; i++)
            {
                AuditLog.Record(c, i % 2 == 0 ? "anna" : "ben", AuditLog.Api, "10.0.0.1", i < 4 ? "POST /admin/api/users" : "DELETE /admin/api/keys/{prefix}", $"t{i}", 200, null);
            }
        });
        var admin = app.ClientFor(root["api_key"]!.GetValue<string>());
        async Task<List<string>> Targets(string query) =>
            (await admin.GetFromJsonAsync<JsonObject>("/admin/api/audit" + query))!["entries"]!.AsArray().Select(e => e!["target"]?.GetValue<string>() ?? "").ToList();

        Assert.Equal(["t6", "t4", "t2", "t0"], await Targets("?actor=anna"));
        Assert.Equal(["t6", "t5", "t4"], await Targets("?action=" + Uri.EscapeDataString("DELETE /admin/api/keys/{prefix}")));
        Assert.Equal(["t3"], await Targets("?target=t3"));
        Assert.Equal(["t2", "t0"], await Targets("?actor=anna&action=POST%20/admin/api/users"));
        Assert.Empty(await Targets("?until=2000-01-01T00:00:00Z"));
        Assert.Equal(8, (await Targets("?since=1h")).Count);

        // Pages: next_before leads to the next page; the last page says null.
        var first = (await admin.GetFromJsonAsync<JsonObject>("/admin/api/audit?limit=3"))!;
        Assert.Equal(["t6", "t5", "t4"], first["entries"]!.AsArray().Select(e => e!["target"]!.GetValue<string>()));
        var before = first["next_before"]!.GetValue<long>();
        Assert.Equal(["t3", "t2", "t1"], await Targets($"?limit=3&before={before}"));
        var second = (await admin.GetFromJsonAsync<JsonObject>($"/admin/api/audit?limit=3&before={before}"))!;
        var last = (await admin.GetFromJsonAsync<JsonObject>($"/admin/api/audit?limit=3&before={second["next_before"]!.GetValue<long>()}"))!;
        // The oldest row is the CLI's record of root's creation.
        Assert.Equal(["t0", "root"], last["entries"]!.AsArray().Select(e => e!["target"]!.GetValue<string>()));
        Assert.Null(last["next_before"]);

        foreach (var query in new[] { "?limit=0", "?limit=1001", "?limit=x", "?before=-1", "?since=yesterday", "?until=9223372036854775808" })
        {
            await Problem(await admin.GetAsync("/admin/api/audit" + query), HttpStatusCode.BadRequest, "invalid_query");
        }
    }
}

public sealed class AuditTrailOnSqlite() : AuditTrailTests(StoreKind.Sqlite);

public sealed class AuditTrailOnPostgres() : AuditTrailTests(StoreKind.Postgres);
