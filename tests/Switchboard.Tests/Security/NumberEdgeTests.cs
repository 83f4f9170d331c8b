namespace Switchboard.Tests.Security;

/// <summary>
/// Extreme numbers, NaN and Infinity (also as strings), -0 and fractions where whole numbers are
/// expected: each is a 400 with its code on the admin and the client API, and changes nothing.
/// </summary>
public abstract class NumberEdgeTests(StoreKind kind) : IAsyncLifetime
{
    private HostileApp _app = null!;

    public async Task InitializeAsync() => _app = await HostileApp.Start(kind);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData("grant", "-9223372036854775808")]
    [InlineData("adjust", "-9223372036854775808")]
    [InlineData("adjust", "9223372036854775807")]
    [InlineData("grant", "1e400")]
    [InlineData("grant", "-0")]
    [InlineData("grant", "0.0")]
    [InlineData("grant", "5.5")]
    [InlineData("grant", "\"NaN\"")]
    [InlineData("grant", "\"Infinity\"")]
    [InlineData("adjust", "\"-Infinity\"")]
    [InlineData("adjust", "-1000000000001")]
    public async Task AnExtremeCreditAmountIsInvalidAmount(string moveKind, string amount)
    {
        await _app.Refused(() => _app.Post(_app.Admin, "/admin/api/users/alice/credits", $$"""{"kind": "{{moveKind}}", "amount": {{amount}}, "note": "edge"}"""),
            HttpStatusCode.BadRequest, "invalid_amount");
    }

    [Fact]
    public void TheSmallestLongIsRefusedByTheRulesTheCliShares()
    {
        var refused = Assert.Throws<Switchboard.Users.CreditMoveException>(() => Switchboard.Users.CreditMoves.Validate("adjust", long.MinValue, "edge"));
        Assert.Equal("invalid_amount", refused.Code);
    }

    [Theory]
    [InlineData("-9223372036854775808")]
    [InlineData("9223372036854775807")]
    [InlineData("1e400")]
    [InlineData("1.5")]
    [InlineData("\"NaN\"")]
    public async Task AnExtremeInitialCreditIsAnInvalidUser(string credits)
    {
        await _app.Refused(() => _app.Post(_app.Admin, "/admin/api/users", $$"""{"name": "bob", "password": "correct horse battery", "credits": {{credits}}}"""),
            HttpStatusCode.BadRequest, "invalid_user");
    }

    [Theory]
    [InlineData("price", "-9223372036854775808")]
    [InlineData("price", "9223372036854775807")]
    [InlineData("price", "1e400")]
    [InlineData("price", "1.5")]
    [InlineData("price", "\"Infinity\"")]
    [InlineData("create_qty", "-0")]
    [InlineData("create_qty", "1e400")]
    [InlineData("expiration", "-9223372036854775808")]
    public async Task AnExtremeOfferNumberIsAnInvalidOffer(string field, string value)
    {
        var fields = new Dictionary<string, string> { ["handler"] = "\"echo.render\"", ["price"] = "1", ["prompt_template"] = "\"B\"", [field] = value };
        var body = "{" + string.Join(", ", fields.Select(f => $"\"{f.Key}\": {f.Value}")) + "}";
        await _app.Refused(() => _app.Put(_app.Admin, "/admin/api/offers/t/b", body), HttpStatusCode.BadRequest, "invalid_offer");
    }

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("1e-400")]
    [InlineData("1e999999")]
    public async Task AClientInputBeyondADoubleIsAnInvalidInput(string number)
    {
        var problem = await _app.Refused(() => _app.Post(_app.User, "/svc/t/a/", $$"""{"topic": {{number}}}"""), HttpStatusCode.BadRequest, "invalid_inputs");
        Assert.Contains("topic", problem["errors"]!.AsObject().Select(e => e.Key));
        await _app.Refused(() => _app.Post(_app.User, "/svc/deal/solo/", $$$"""{"inputs": {"topic": {{{number}}}}}"""), HttpStatusCode.BadRequest, "invalid_inputs");
    }

    [Theory]
    [InlineData("a\\u0000b")]
    [InlineData("\\u001b[2J")]
    [InlineData("\\u007f")]
    public async Task AClientInputWithAControlCharacterIsAnInvalidInput(string text)
    {
        await _app.Refused(() => _app.Post(_app.User, "/svc/t/a/", $$"""{"topic": "{{text}}"}"""), HttpStatusCode.BadRequest, "invalid_inputs");
        await _app.Refused(() => _app.Post(_app.User, "/svc/deal/solo/", $$$"""{"inputs": {"topic": "{{{text}}}"}}"""), HttpStatusCode.BadRequest, "invalid_inputs");
    }

    [Fact]
    public async Task ALoneSurrogateAsADealFieldNameIsInvalidJson()
    {
        await _app.Refused(() => _app.Post(_app.User, "/svc/deal/solo/", """{"\ud800": 1, "inputs": {"topic": "x"}}"""), HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task OrdinaryNumbersAndTextStillWork()
    {
        var accepted = await _app.Post(_app.User, "/svc/t/a/", """{"topic": -9223372036854775808}""");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var tabbed = await _app.Post(_app.User, "/svc/t/a/", "{\"topic\": \"a\\tb\\nc\"}");
        Assert.Equal(HttpStatusCode.Accepted, tabbed.StatusCode);
        await Infrastructure.SwitchboardFactory.WaitForEnd(_app.User, await Infrastructure.SwitchboardFactory.IdOf(tabbed));
        await Infrastructure.SwitchboardFactory.WaitForEnd(_app.User, await Infrastructure.SwitchboardFactory.IdOf(accepted));
    }

    [Theory]
    [InlineData("/svc/me/?since=%00")]
    [InlineData("/admin/api/usage?resource=%00")]
    [InlineData("/admin/api/requests?user=a%01b")]
    [InlineData("/admin/api/configs/api/diff?from=1.0%00")]
    public async Task AQueryValueWithAControlCharacterIsInvalidQuery(string path)
    {
        var client = path.StartsWith("/svc", StringComparison.Ordinal) ? _app.User : _app.Admin;
        await _app.Refused(() => client.GetAsync(path), HttpStatusCode.BadRequest, "invalid_query");
    }

    [Fact]
    public async Task AMalformedMultipartFormIsInvalidForm()
    {
        await _app.Refused(() => _app.App.CreateClient().PostAsync("/admin/login", HostileApp.Body("{}", "multipart/form-data; boundary=x")),
            HttpStatusCode.BadRequest, "invalid_form");
    }
}

public sealed class NumberEdgeOnSqlite() : NumberEdgeTests(StoreKind.Sqlite);

public sealed class NumberEdgeOnPostgres() : NumberEdgeTests(StoreKind.Postgres);
