using System.Net;
using System.Net.Http.Json;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Leases;

/// <summary>
/// The lease tests' one offer: <c>chat/ask</c> on <c>openai.chat</c>, prompt <c>Q {n}</c>, against
/// a <see cref="FakeOpenAi"/> that decides from the prompt how long each call is held.
/// </summary>
internal static class ChatOffer
{
    public static string Catalog(int price) => $$"""
        handlers:
          - {id: openai.chat, credits: 1}
        offers:
          - {service: chat, action: ask, handler: openai.chat, price: {{price}}, prompt_template: "Q {n}", params: {model: m} }
        """;

    /// <summary>Points openai.chat at <paramref name="upstream"/> and, unless the catalog is applied elsewhere, applies it.</summary>
    public static async Task Install(TestStore store, FakeOpenAi upstream, int? price)
    {
        await Infrastructure.Cli.PushOpenAiEndpoint(store, upstream.BaseUrl);
        if (price is { } p)
        {
            await Infrastructure.Cli.ApplyCatalog(store, Catalog(p));
        }
    }

    /// <summary>Submits <c>Q 0</c> … <c>Q count-1</c>, each answered 202; returns their ids in that order.</summary>
    public static async Task<List<string>> Submit(HttpClient client, int count)
    {
        var ids = new List<string>();
        for (var n = 0; n < count; n++)
        {
            ids.Add(await client.SubmitAsync("/svc/chat/ask/", new { n }));
        }
        return ids;
    }
}
