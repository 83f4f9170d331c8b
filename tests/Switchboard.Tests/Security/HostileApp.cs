using System.Text;

namespace Switchboard.Tests.Security;

/// <summary>
/// A serve process in memory on a store of its own with one offer (t/a, 10 credits), one deal
/// (solo), a user alice (1000 credits) and an admin root: what the security tests of bad input
/// call, and the store rows they compare before and after.
/// </summary>
public sealed class HostileApp : IAsyncDisposable
{
    public static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: t, action: a, handler: echo.render, price: 10, prompt_template: "A({topic})"}
        deals:
          - name: solo
            offers:
              - {offer: t/a, pipeline: none}
        """);

    private readonly TestApp _app;

    private HostileApp(TestApp app) => _app = app;

    public TestStore Dir => _app.Store;

    public SwitchboardFactory App => _app.Server;

    public HttpClient User { get; private init; } = null!;

    public HttpClient Admin { get; private init; } = null!;

    public string UserId { get; private init; } = "";

    public static async Task<HostileApp> Start(StoreKind kind)
    {
        var app = await TestApp.StartAsync(kind, catalog: Catalog);
        var alice = await app.AddUserAsync("alice", 1000);
        var root = await app.AddAdminAsync("root");
        return new HostileApp(app) { UserId = alice.Id, User = alice.Client, Admin = root.Client };
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    public static ByteArrayContent Body(string text, string? contentType = "application/json")
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        return content;
    }

    /// <summary>Users, keys, ledger, requests, offers, deals and handlers: what a refused call must leave as it was.</summary>
    public string State() => Dir.Query(c =>
    {
        var rows = new StringBuilder();
        foreach (var sql in new[]
        {
            "SELECT id || '|' || name || '|' || credits || '|' || is_admin FROM users ORDER BY id",
            "SELECT prefix || '|' || COALESCE(revoked_at, 0) FROM api_keys ORDER BY prefix",
            "SELECT id || '|' || kind || '|' || amount FROM ledger ORDER BY id",
            "SELECT id || '|' || status FROM requests ORDER BY id",
            "SELECT service || '/' || action || '|' || price || '|' || prompt_template FROM offers ORDER BY service, action",
            "SELECT name FROM deals ORDER BY name",
            "SELECT id || '|' || credits FROM handlers ORDER BY id",
        })
        {
            using var command = c.Sql(sql);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.AppendLine(reader.GetString(0));
            }
        }
        return rows.ToString();
    });

    /// <summary>Asserts a problem answer with this status and code.</summary>
    public static async Task<JsonObject> AssertProblem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        return problem;
    }

    public async Task<JsonObject> Refused(Func<Task<HttpResponseMessage>> call, HttpStatusCode status, string code)
    {
        var before = State();
        var problem = await AssertProblem(await call(), status, code);
        Assert.Equal(before, State());
        return problem;
    }

    public Task<HttpResponseMessage> Post(HttpClient client, string path, string body, string? contentType = "application/json") =>
        client.PostAsync(path, Body(body, contentType));

    public Task<HttpResponseMessage> Put(HttpClient client, string path, string body) => client.PutAsync(path, Body(body));
}
