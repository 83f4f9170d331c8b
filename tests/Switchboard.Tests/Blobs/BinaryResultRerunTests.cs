namespace Switchboard.Tests.Blobs;

/// <summary>
/// A request bought again once its results are past their expiration, before recon expired them
/// (recon slowed to a pass every 10 minutes): the re-run's unit forgets the last run's binary
/// results with its results, and the new run lists its own. On SQLite and PostgreSQL.
/// </summary>
public abstract class BinaryResultRerunTests(StoreKind kind) : AppTests
{
    private TestUser _alice = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(kind, new Dictionary<string, string?> { ["Switchboard:ReconInterval"] = "00:10:00" }, TestCatalogs.OnEchoRender("""
            offers:
              - {service: img, action: brief, handler: echo.render, price: 1, prompt_template: "Small {what}", expiration: 1, params: {result_bytes: 1000, media_type: image/png}}
            """));
        _alice = await app.AddUserAsync("alice", 10);
        return app;
    }

    private long Count(string sql, params (string, object?)[] args) => App.Query(c => c.Scalar<long>(sql, args));

    [Fact]
    public async Task ARerunForgetsTheLastRunsBinaryResultsAndListsItsOwn()
    {
        var id = await _alice.Client.SubmitAsync("/svc/img/brief/", new { what = "again" });
        var first = await SwitchboardFactory.WaitForEnd(_alice.Client, id);
        var sha = first["results"]![0]!["sha256"]!.GetValue<string>();
        var expiresAt = DateTimeOffset.Parse(first["expires_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(1, Count("SELECT COUNT(*) FROM result_blobs WHERE root_id = @id AND run = 1", ("@id", id)));
        // Time must pass: the results are re-bought once past their expiration, which recon has not acted on.
        await Wait.Until(() => DateTimeOffset.UtcNow > expiresAt.AddMilliseconds(100), TimeSpan.FromSeconds(5), "the results' expiration");
        Assert.Equal("succeeded", (await _alice.Client.GetFromJsonAsync<JsonObject>($"/svc/request/{id}/"))!["status"]!.GetValue<string>());

        var again = await _alice.Client.PostJsonAsync("/svc/img/brief/", new { what = "again" });
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var second = await SwitchboardFactory.WaitFor(_alice.Client, id, TimeSpan.FromSeconds(15), "succeeded");

        Assert.Equal(2, second["run"]!.GetValue<int>());
        Assert.Equal(sha, second["results"]![0]!["sha256"]!.GetValue<string>());
        Assert.Equal(0, Count("SELECT COUNT(*) FROM result_blobs WHERE root_id = @id AND run = 1", ("@id", id)));
        Assert.Equal(1, Count("SELECT COUNT(*) FROM result_blobs WHERE root_id = @id AND run = 2", ("@id", id)));
        Assert.Equal(1, Count("SELECT COUNT(*) FROM blobs"));
        Assert.Equal(HttpStatusCode.OK, (await _alice.Client.GetAsync(second["results"]![0]!["url"]!.GetValue<string>())).StatusCode);
        Assert.Equal(8, _alice.Balance);
    }
}

public sealed class BinaryResultRerunOnSqlite() : BinaryResultRerunTests(StoreKind.Sqlite);

public sealed class BinaryResultRerunOnPostgres() : BinaryResultRerunTests(StoreKind.Postgres);
