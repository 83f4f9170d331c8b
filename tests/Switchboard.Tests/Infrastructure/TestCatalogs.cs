namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Catalog YAML that tests share, written once: the echo.render handler at 1 credit a call (the
/// offers' params decide its delay and failure), so a test's catalog says only its offers and
/// deals, and the small catalogs several tests sell from, by name.
/// </summary>
public static class TestCatalogs
{
    /// <summary>A catalog whose <paramref name="offersAndDeals"/> (YAML from <c>offers:</c> on) run on echo.render at 1 credit.</summary>
    public static string OnEchoRender(string offersAndDeals) => "handlers:\n  - {id: echo.render, credits: 1}\n" + offersAndDeals;

    /// <summary>One offer, text/shout at 5 credits ("Say {word}").</summary>
    public static readonly string Shout = OnEchoRender("""
        offers:
          - {service: text, action: shout, handler: echo.render, price: 5, prompt_template: "Say {word}"}
        """);

    /// <summary>One offer, text/shout at 1 credit making one result: a request whose cost and output a test needs not think about.</summary>
    public static readonly string ShoutOnce = OnEchoRender("""
        offers:
          - {service: text, action: shout, handler: echo.render, price: 1, prompt_template: "Say {word}", create_qty: 1}
        """);

    /// <summary>
    /// The relay deal: p/first, p/slow, p/last (3 + 5 + 2 credits), each later step taking the
    /// item before it; <paramref name="slowMs"/> is how long the middle step runs, so that a kill
    /// or a stall lands while middle steps run.
    /// </summary>
    public static string Relay(int slowMs) => OnEchoRender($$$"""
        offers:
          - {service: p, action: first, handler: echo.render, price: 3, prompt_template: "First({n})"}
          - {service: p, action: slow, handler: echo.render, price: 5, prompt_template: "Slow[{input}]", params: {delay_ms: {{{slowMs}}}}}
          - {service: p, action: last, handler: echo.render, price: 2, prompt_template: "Last[{input}]"}
        deals:
          - name: relay
            offers:
              - {offer: p/first, pipeline: none}
              - {offer: p/slow, pipeline: overwrite}
              - {offer: p/last, pipeline: overwrite}
        """);

    /// <summary>One offer, echo/say at 1 credit, on an echo.render that costs no credits: a recon test's request that leaves no cost behind.</summary>
    public const string FreeEchoSay = """
        handlers:
          - {id: echo.render, credits: 0}
        offers:
          - {service: echo, action: say, handler: echo.render, price: 1, prompt_template: "Say {n}"}
        """;
}
