using System.Net.Http.Headers;
using Switchboard.Observability;

namespace Switchboard.Tests.Security;

/// <summary>
/// <c>/metrics</c> (revenue, credits, queue depth) is not on the public URL by default: it is
/// served on the <c>--metrics-urls</c> listener, or on the public URL only to a scraper with the
/// operator's bearer token; the token is never logged. Real serve processes on Kestrel.
/// </summary>
public sealed class MetricsExposureTests : AppTests
{
    private const string Token = "a-metrics-token-of-the-operator";

    private SwitchboardProcess? _serve;

    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite);

    private static async Task<HttpResponseMessage> Scrape(Uri address, string? token = null)
    {
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await client.GetAsync("/metrics");
    }

    [Fact]
    public async Task ThePublicUrlDoesNotServeMetricsByDefault()
    {
        _serve = await App.StartServeAsync();

        await Problem(await Scrape(_serve.Address!), HttpStatusCode.NotFound, "not_found");
        // Not even to a caller who sends some bearer token.
        await Problem(await Scrape(_serve.Address!, Token), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task TheMetricsListenerServesThemAndThePublicUrlStillDoesNot()
    {
        var listener = new Uri($"http://127.0.0.1:{SwitchboardProcess.FreePort()}");
        _serve = await App.StartServeAsync("--metrics-urls", listener.ToString().TrimEnd('/'));

        var scraped = await Scrape(listener);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("switchboard_jobs_in_flight", await scraped.Content.ReadAsStringAsync());
        await Problem(await Scrape(_serve.Address!), HttpStatusCode.NotFound, "not_found");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WithABearerTokenThePublicUrlServesMetricsToItsHolderOnly(bool fromFile)
    {
        string setting;
        if (fromFile)
        {
            var file = Path.Combine(App.Store.Path, "metrics.token");
            await File.WriteAllTextAsync(file, Token + "\n");
            setting = $"--{MetricsHosting.BearerTokenFileKey}={file}";
        }
        else
        {
            setting = $"--{MetricsHosting.BearerTokenKey}={Token}";
        }
        _serve = await App.StartServeAsync(setting);

        var scraped = await Scrape(_serve.Address!, Token);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("switchboard_jobs_in_flight", await scraped.Content.ReadAsStringAsync());
        foreach (var wrong in new[] { null, "", Token + "x", Token[..^1], Token.ToUpperInvariant(), "Basic " + Token })
        {
            var refused = await Scrape(_serve.Address!, wrong);
            await Problem(refused, HttpStatusCode.Unauthorized, "metrics_token_required");
            Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.ToString());
        }
        // The token is in no log line and no answer.
        Assert.DoesNotContain(_serve.StdoutLines.Concat(_serve.StderrLines), l => l.Contains(Token, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("weak-t0ken")]
    [InlineData("   ")]
    public async Task AWeakTokenFailsTheStartWithoutEchoingIt(string token)
    {
        var (exit, output, error) = await Infrastructure.Cli.RunProcess(TimeSpan.FromSeconds(30),
            "serve", "--data", App.Store.Path, "--urls", $"http://127.0.0.1:{SwitchboardProcess.FreePort()}", $"--{MetricsHosting.BearerTokenFileKey}={WriteToken(token)}");

        Assert.NotEqual(0, exit);
        Assert.Contains(MetricsHosting.BearerTokenFileKey, error);
        if (token.Trim().Length > 0)
        {
            Assert.DoesNotContain(token, output + error);
        }
    }

    private string WriteToken(string token)
    {
        var file = Path.Combine(App.Store.Path, "weak.token");
        File.WriteAllText(file, token);
        return file;
    }
}
