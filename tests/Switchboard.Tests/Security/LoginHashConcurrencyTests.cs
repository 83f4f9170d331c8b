namespace Switchboard.Tests.Security;

/// <summary>
/// Password checks run at most <c>Switchboard:LoginHashConcurrency</c> at once; a login that
/// finds no free slot in time gets 503 with Retry-After, unchecked, instead of queueing on the CPU.
/// </summary>
public sealed class LoginHashConcurrencyTests : AppTests
{
    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, new() { ["Switchboard:LoginHashConcurrency"] = "1", ["Switchboard:LoginHashWait"] = "00:00:00" });
        await PanelSession.CreateAdmin(app.Store, "root");
        return app;
    }

    [Fact]
    public async Task ParallelLoginsBeyondTheBoundAreRefusedWith503AndRetryAfter()
    {
        var checks = PanelApps.Checks(App.Server);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        HttpResponseMessage? refused = null;
        // Rounds of parallel logins (distinct unknown names: no lockout) until two overlap; on a
        // busy machine the first round may run one at a time.
        for (var round = 0; refused is null; round++)
        {
            Assert.True(DateTime.UtcNow < deadline, "no login was refused: the bound is not applied");
            var forms = new List<(HttpClient Client, string Token)>();
            for (var i = 0; i < 8; i++)
            {
                var client = PanelApps.Client(App.Server, new CookieContainer());
                forms.Add((client, await PanelSession.FormToken(client, "/admin/login")));
            }
            var before = checks.Computed;
            var answers = await Task.WhenAll(forms.Select((f, i) => f.Client.PostAsync("/admin/login", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = f.Token,
                ["username"] = $"guest-{round}-{i}",
                ["password"] = "some password",
            }))));
            Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.ServiceUnavailable }));
            // Refused logins computed nothing.
            Assert.Equal(answers.Count(a => a.StatusCode == HttpStatusCode.Unauthorized), checks.Computed - before);
            refused = answers.FirstOrDefault(a => a.StatusCode == HttpStatusCode.ServiceUnavailable);
        }
        Assert.Equal(1, checks.MostAtOnce);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("Too many logins at once", await refused.Content.ReadAsStringAsync());
    }
}
