namespace Switchboard.Tests.Security;

/// <summary>
/// The admin API's JSON bodies, read in one place (AdminJson): a lone surrogate, a control
/// character, 1,000 levels of nesting, a body that is not declared JSON and an unknown field are
/// each a 4xx problem with its code, and change nothing.
/// </summary>
public abstract class AdminJsonTests(StoreKind kind) : IAsyncLifetime
{
    private HostileApp _app = null!;

    public async Task InitializeAsync() => _app = await HostileApp.Start(kind);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    public static TheoryData<string, string, string> Bodies => new()
    {
        { "POST", "/admin/api/users", """{"name": "bob\ud800", "password": "correct horse battery"}""" },
        { "POST", "/admin/api/users", """{"name": "bob", "password": "correct\ud800 horse battery"}""" },
        { "POST", "/admin/api/users", """{"\ud800": 1, "name": "bob"}""" },
        { "POST", "/admin/api/users/alice/credits", """{"kind": "adjust", "amount": 5, "note": "\ud800"}""" },
        { "POST", "/admin/api/users/alice/credits", """{"kind": "grant\udc00", "amount": 5}""" },
        { "PUT", "/admin/api/offers/t/b", """{"handler": "echo.render", "price": 1, "prompt_template": "B({x}) \ud800"}""" },
        { "PUT", "/admin/api/deals/two", """{"offers": [{"offer": "t/a\ud800", "pipeline": "none"}]}""" },
        { "PUT", "/admin/api/handlers/echo.render", """{"credits": 1, "resource": "\ud800"}""" },
        { "POST", "/admin/api/users/alice/credits", """{"kind": "adjust", "amount": 5, "note": "a\u0000b"}""" },
        { "PUT", "/admin/api/offers/t/b", """{"handler": "echo.render", "price": 1, "prompt_template": "B({x}) \u001b[2J"}""" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task AStringThatIsNotTextIsInvalidJsonAndChangesNothing(string method, string path, string body)
    {
        await _app.Refused(() => method == "PUT" ? _app.Put(_app.Admin, path, body) : _app.Post(_app.Admin, path, body), HttpStatusCode.BadRequest, "invalid_json");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public async Task ACreditMoveThatIsNotDeclaredJsonIs415(string? contentType)
    {
        await _app.Refused(() => _app.Post(_app.Admin, "/admin/api/users/alice/credits", """{"kind": "grant", "amount": 5}""", contentType),
            HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Fact]
    public async Task AnyAdminBodyThatIsNotDeclaredJsonIs415()
    {
        await _app.Refused(() => _app.App.CreateClient().SendAsync(new(HttpMethod.Put, "/admin/api/offers/t/b")), HttpStatusCode.Unauthorized, "missing_api_key");
        await _app.Refused(() => _app.Admin.PutAsync("/admin/api/offers/t/b", HostileApp.Body("""{"handler": "echo.render", "price": 1, "prompt_template": "B"}""", "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await _app.Refused(() => _app.Post(_app.Admin, "/admin/api/users", """{"name": "bob", "password": "correct horse battery"}""", "text/plain"),
            HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Fact]
    public async Task ACreditMoveWithAnUnknownFieldIsRefusedByName()
    {
        var problem = await _app.Refused(() => _app.Post(_app.Admin, "/admin/api/users/alice/credits", """{"kind": "grant", "amount": 5, "amuont": 7}"""),
            HttpStatusCode.BadRequest, "unknown_field");
        Assert.Equal("amuont", problem["fields"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task AThousandLevelsOfNestingAreInvalidJson()
    {
        var deep = new string('[', 1000) + new string(']', 1000);
        await _app.Refused(() => _app.Post(_app.Admin, "/admin/api/users/alice/credits", $$"""{"kind": "grant", "amount": 5, "note": {{deep}}}"""),
            HttpStatusCode.BadRequest, "invalid_json");
        await _app.Refused(() => _app.Put(_app.Admin, "/admin/api/offers/t/b", $$$"""{"handler": "echo.render", "price": 1, "prompt_template": "B", "params": {"x": {{{deep}}}}}"""),
            HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task ACreditMoveLongerThanItsLimitIs413()
    {
        var note = new string('n', Switchboard.Credits.CreditsAdminEndpoints.MaxBodyBytes);
        await _app.Refused(() => _app.Post(_app.Admin, "/admin/api/users/alice/credits", $$"""{"kind": "adjust", "amount": 5, "note": "{{note}}"}"""),
            HttpStatusCode.RequestEntityTooLarge, "body_too_large");
    }

    [Fact]
    public async Task TabsAndLineBreaksStayAllowed()
    {
        var response = await _app.Put(_app.Admin, "/admin/api/offers/t/b", """{"handler": "echo.render", "price": 1, "prompt_template": "B\t({x})\r\nend"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

public sealed class AdminJsonOnSqlite() : AdminJsonTests(StoreKind.Sqlite);

public sealed class AdminJsonOnPostgres() : AdminJsonTests(StoreKind.Postgres);
