using Microsoft.Extensions.DependencyInjection;
using Switchboard.Catalog;
using Switchboard.Usage;

namespace Switchboard.Tests.Handlers;

/// <summary>
/// A handler's integration credits per unit of usage (<c>credits: {per_call, per: {images: …}}</c>):
/// validated at apply, kept through export, and counted in the usage rows from what each attempt
/// recorded.
/// </summary>
public sealed class CreditsPerUnitTests : AppTests
{
    private FakeOpenAi _fake = null!;

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite);
        _fake = app.Own(await FakeOpenAi.StartAsync());
        await app.PushConfigAsync("svc_handlers", $"openai:\n  base_url: {_fake.BaseUrl}\n");
        return app;
    }

    private async Task<(int Exit, string Err)> Apply(string yaml)
    {
        var (exit, _, error) = await App.TryApplyCatalogAsync(yaml);
        return (exit, error);
    }

    [Fact]
    public async Task AnImageAttemptCostsItsPerCallCreditsPlusItsPerImageCreditsInTheUsageRows()
    {
        var (exit, error) = await Apply("""
            handlers:
              - {id: openai.image, credits: {per_call: 1, per: {images: 3, total_tokens: 0.001}}, resource: openai}
            offers:
              - {service: image, action: two, handler: openai.image, price: 5, create_qty: 2, prompt_template: "A {thing}", params: {model: dall-e-2} }
            """);
        Assert.True(exit == 0, error);
        var alice = await App.AddUserAsync("alice", 50);

        var id = await alice.Client.SubmitAsync("/svc/image/two/", new { thing = "boat" });
        var done = await SwitchboardFactory.WaitForEnd(alice.Client, id, TimeSpan.FromSeconds(10));
        Assert.Equal("succeeded", done["status"]!.GetValue<string>());
        await App.Services.GetRequiredService<UsageFlusher>().FlushAsync();

        // 1 per call + 2 images × 3; the fake reports no tokens, so the token rate adds nothing.
        var credits = App.Query(c =>
        {
            using var command = c.Sql("SELECT SUM(integration_credits), SUM(calls) FROM usage_minutes WHERE handler = 'openai.image'");
            using var reader = command.ExecuteReader();
            reader.Read();
            return (Credits: reader.GetInt64(0), Calls: reader.GetInt64(1));
        });
        Assert.Equal((7L, 1L), credits);
        // The user pays the offer's price, not the integration's cost.
        Assert.Equal(45, alice.Balance);
    }

    [Fact]
    public void PerUnitCreditsAreAddedUpAndRoundedUpToWholeCredits()
    {
        var handler = new HandlerEntry("openai.chat", 2, null, true, new Dictionary<string, double> { ["total_tokens"] = 0.001, ["images"] = 4 });

        Assert.Equal(2, handler.CreditsFor(new JsonObject()));
        Assert.Equal(3, handler.CreditsFor(new JsonObject { ["total_tokens"] = 1 }));
        Assert.Equal(3, handler.CreditsFor(new JsonObject { ["total_tokens"] = 1000 }));
        Assert.Equal(4, handler.CreditsFor(new JsonObject { ["total_tokens"] = 1001 }));
        Assert.Equal(2 + 8 + 2, handler.CreditsFor(new JsonObject { ["images"] = 2, ["total_tokens"] = 1500, ["other"] = 99 }));
        Assert.Equal(5, new HandlerEntry("echo.render", 5, null, true).CreditsFor(new JsonObject { ["images"] = 2 }));
    }

    [Fact]
    public async Task BadPerUnitCreditsAreRefusedAtApplyWithTheirKeys()
    {
        var (exit, error) = await Apply("""
            handlers:
              - {id: openai.image, credits: {per_call: -1, per: {images: -2, Tokens: 1, total_tokens: lots}, each: 1}}
              - {id: openai.chat, credits: {per_call: 1}}
            """);

        Assert.Equal(1, exit);
        Assert.Contains("handlers[0] (openai.image): credits has unknown key 'each' (expected per_call, per)", error);
        Assert.Contains("handlers[0] (openai.image): credits.per_call must be a whole number >= 0", error);
        Assert.Contains("handlers[0] (openai.image): credits.per.images must be a number from 0 to 1000000", error);
        Assert.Contains("handlers[0] (openai.image): credits.per.Tokens is not a usage name (lowercase letters, digits, '_')", error);
        Assert.Contains("handlers[0] (openai.image): credits.per.total_tokens must be a number from 0 to 1000000", error);
        Assert.Contains("handlers[1] (openai.chat): credits.per must map usage names to credits per unit (images: 4, total_tokens: 0.002)", error);
        Assert.Empty(App.Query(CatalogStore.Load).Handlers);
    }

    [Fact]
    public async Task ExportWritesPerUnitCreditsBackAsApplyReadsThem()
    {
        var (exit, error) = await Apply("""
            handlers:
              - {id: openai.image, credits: {per_call: 0, per: {images: 4}}}
              - {id: openai.chat, credits: 2}
            """);
        Assert.True(exit == 0, error);

        var exported = (await App.CliAsync("catalog", "export")).Out;
        var (again, againError) = await Apply(exported);

        Assert.True(again == 0, againError);
        var handlers = App.Query(CatalogStore.Load).Handlers;
        Assert.Equal(0, handlers["openai.image"].Credits);
        Assert.Equal(4, handlers["openai.image"].PerUnit!["images"]);
        Assert.Equal(2, handlers["openai.chat"].Credits);
        Assert.Null(handlers["openai.chat"].PerUnit);
    }
}
