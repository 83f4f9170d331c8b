using System.Text;
using Switchboard.Catalog;

namespace Switchboard.Tests.Catalog;

/// <summary>
/// Each offer's params are checked by its handler (<c>CheckParams</c>) wherever offers are
/// written: <c>catalog apply</c> refuses the whole file with every problem named by offer and
/// key, and the admin API refuses the one offer with 400 <c>invalid_offer</c>; nothing is stored.
/// </summary>
public sealed class OfferParamsCheckTests : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite);

    private async Task<(int Exit, string Err)> Apply(string yaml)
    {
        var (exit, _, error) = await App.TryApplyCatalogAsync(yaml);
        return (exit, error);
    }

    [Fact]
    public async Task CatalogApplyRefusesBadParamsOfEveryProviderNamingTheOfferAndKey()
    {
        var (exit, error) = await Apply("""
            handlers:
              - {id: openai.image, credits: 1}
              - {id: openai.embeddings, credits: 1}
              - {id: anthropic.messages, credits: 1}
              - {id: openai.chat, credits: 1}
              - {id: echo.render, credits: 0}
            offers:
              - {service: image, action: draw, handler: openai.image, price: 1, prompt_template: "x", params: {model: dall-e-3, size: huge, quality: ultra}}
              - {service: embed, action: text, handler: openai.embeddings, price: 1, prompt_template: "x", params: {dimensions: 0}}
              - {service: claude, action: ask, handler: anthropic.messages, price: 1, prompt_template: "x", params: {model: claude, temperature: 3, stop_sequences: "END"}}
              - {service: chat, action: ask, handler: openai.chat, price: 1, prompt_template: "x", params: {model: m, tempreature: 0.5, endpoint: "Not A Name"}}
              - {service: text, action: say, handler: echo.render, price: 1, prompt_template: "x", params: {delay_ms: soon}}
              - {service: text, action: fine, handler: echo.render, price: 1, prompt_template: "x", params: {delay_ms: 5, anything: else}}
              - {service: chat, action: bare, handler: openai.chat, price: 1, prompt_template: "x"}
            """);

        Assert.Equal(1, exit);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]).ToList();
        Assert.Contains("offers[0] (image/draw): params.size must be WIDTHxHEIGHT in pixels (1024x1024, 1536x1024, …)", lines);
        Assert.Contains("offers[0] (image/draw): params.quality must be one of auto, standard, hd, low, medium, high", lines);
        Assert.Contains("offers[1] (embed/text): params.model is required", lines);
        Assert.Contains("offers[1] (embed/text): params.dimensions must be between 1 and 65536", lines);
        Assert.Contains("offers[2] (claude/ask): params.max_tokens is required (the Messages API requires it)", lines);
        Assert.Contains("offers[2] (claude/ask): params.temperature must be between 0 and 1", lines);
        Assert.Contains("offers[2] (claude/ask): params.stop_sequences must be a list of strings", lines);
        Assert.Contains(lines, l => l.StartsWith("offers[3] (chat/ask): params.tempreature is not a param of this handler (known: ", StringComparison.Ordinal));
        Assert.Contains("offers[3] (chat/ask): params.endpoint must be a profile name (a-z, 0-9, '-', '_')", lines);
        Assert.Contains("offers[4] (text/say): params.delay_ms must be a whole number", lines);
        // echo.render leaves keys it does not read alone.
        Assert.DoesNotContain(lines, l => l.Contains("offers[5]", StringComparison.Ordinal));
        // No params at all is checked as empty params.
        Assert.Contains("offers[6] (chat/bare): params.model is required", lines);
        Assert.Contains(lines, l => l.StartsWith("not applied (11 problem(s))", StringComparison.Ordinal));
        var stored = App.Query(CatalogStore.Load);
        Assert.Empty(stored.Handlers);
        Assert.Empty(stored.Offers);
    }

    [Fact]
    public async Task GoodParamsOfEveryProviderApply()
    {
        var (exit, error) = await Apply("""
            handlers:
              - {id: openai.image, credits: 1}
              - {id: openai.embeddings, credits: 1}
              - {id: anthropic.messages, credits: 1}
            offers:
              - {service: image, action: draw, handler: openai.image, price: 1, prompt_template: "x", params: {model: gpt-image-1, size: 1536x1024, quality: high, background: transparent, output_format: webp, timeout_s: 120}}
              - {service: embed, action: text, handler: openai.embeddings, price: 1, prompt_template: "x", params: {model: text-embedding-3-large, dimensions: 256, endpoint: local}}
              - {service: claude, action: ask, handler: anthropic.messages, price: 1, prompt_template: "x", params: {model: claude, max_tokens: 1024, temperature: 1, top_k: 5, stop_sequences: ["END"]}}
            """);

        Assert.True(exit == 0, error);
        Assert.Equal(3, App.Query(CatalogStore.Load).Offers.Count);
    }

    [Fact]
    public async Task TheAdminApiRefusesAnOfferWithBadParamsWith400AndStoresNothing()
    {
        var admin = (await App.AddAdminAsync()).Client;
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/admin/api/handlers/openai.image", Json("""{"credits": 1}"""))).StatusCode);

        var problem = await Problem(
            await admin.PutAsync("/admin/api/offers/image/draw", Json("""{"handler": "openai.image", "price": 1, "prompt_template": "x", "params": {"model": "dall-e-3", "style": "cubist"}}""")),
            HttpStatusCode.BadRequest, "invalid_offer");

        Assert.Equal(["params.style must be one of vivid, natural"], problem["errors"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Empty(App.Query(CatalogStore.Load).Offers);
        var fixedUp = await admin.PutAsync("/admin/api/offers/image/draw", Json("""{"handler": "openai.image", "price": 1, "prompt_template": "x", "params": {"model": "dall-e-3", "style": "natural"}}"""));
        Assert.Equal(HttpStatusCode.OK, fixedUp.StatusCode);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
