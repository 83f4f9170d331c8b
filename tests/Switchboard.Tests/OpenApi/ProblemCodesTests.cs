using System.Net;
using System.Text.RegularExpressions;
using Switchboard.Errors;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.OpenApi;

/// <summary>
/// Problem codes have one list (Errors/ProblemCodes.cs): every code the sources emit is on it,
/// every code on it is emitted, docs/problems.md is generated from it, and a real problem's
/// <c>type</c> resolves to the server's page with the code's anchor.
/// </summary>
public sealed partial class ProblemCodesTests
{
    /// <summary>
    /// Where the sources name a problem's code: Problems.Of(status, "code", ...), the helpers
    /// that pass theirs on (Bad, Invalid), the exceptions endpoints turn into problems, and the
    /// constants named ...Code.
    /// </summary>
    [GeneratedRegex("""(?:Problems\.Of\([^,]+,\s*|\bBad\(|\bInvalid\(|CreditMoveException\(|UserSecurityException\(\d{3},\s*|Code\s*=\s*)"([a-z0-9_]+)"(?!\s*\+)""")]
    private static partial Regex CodeLiteral();

    private static readonly string Sources = Path.Combine(OpenApiClientTests.RepoRoot(), "src", "Switchboard");

    private static readonly string[] Text = [.. Directory.EnumerateFiles(Sources, "*.cs", SearchOption.AllDirectories).Select(File.ReadAllText)];

    /// <summary>Codes of request errors (a failed request's <c>error.code</c>), not of problem answers.</summary>
    // (The lifecycle's transitions carry theirs as `Code = "…"`, which the pattern above also finds.)
    private static readonly string[] RequestErrorCodes =
        [
            "result_too_large", "step_input_too_large", "upstream_too_large", "worker_lost", "cancelled", "dependency_failed", "step_failed",
            "invalid_input", "result_media_type_invalid",
        ];

    [Fact]
    public void EveryCodeTheSourcesEmitIsListed()
    {
        var emitted = Text.SelectMany(t => CodeLiteral().Matches(t).Select(m => m.Groups[1].Value)).Except(RequestErrorCodes).ToHashSet();
        Assert.Contains("invalid_inputs", emitted);
        Assert.Contains("invalid_password", emitted);
        Assert.Contains("offer_needs_endpoint_profile", emitted);
        var listed = ProblemCodes.All.Select(p => p.Code).ToHashSet();
        Assert.Empty(emitted.Except(listed));
    }

    [Fact]
    public void EveryListedCodeIsEmittedSomewhere()
    {
        var sources = string.Join('\n', Text.Where(t => !t.Contains("public static class ProblemCodes", StringComparison.Ordinal)));
        var unused = ProblemCodes.All.Where(p => p.Status != 0 && !sources.Contains($"\"{p.Code}\"", StringComparison.Ordinal));
        Assert.Empty(unused.Select(p => p.Code));
        Assert.Equal(ProblemCodes.All.Count, ProblemCodes.All.Select(p => p.Code).Distinct().Count());
    }

    [Fact]
    public void DocsProblemsMdIsTheList()
    {
        var file = Path.Combine(OpenApiClientTests.RepoRoot(), "docs", "problems.md");
        var expected = ProblemsPage.Markdown();
        if (!File.Exists(file) || File.ReadAllText(file) != expected)
        {
            var fresh = Path.Combine(Chromium.ScreenshotDir, "..", "problems.md");
            Directory.CreateDirectory(Path.GetDirectoryName(fresh)!);
            File.WriteAllText(fresh, expected);
            Assert.Fail($"docs/problems.md differs from Errors/ProblemCodes.cs: copy {Path.GetFullPath(fresh)} over it");
        }
    }

    [Fact]
    public async Task ARealProblemsTypeResolvesToItsEntry()
    {
        await using var store = TestStore.Create(StoreKind.Sqlite);
        await using var app = new SwitchboardFactory(store);
        var client = app.CreateClient();

        var problem = (await DealProblem(client))!;
        var type = problem["type"]!.GetValue<string>();
        Assert.Equal("/docs/problems#missing_api_key", type);

        var page = await client.GetAsync(new Uri(client.BaseAddress!, type));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.All(ProblemCodes.All, p => Assert.Contains($"id=\"{ProblemCodes.Anchor(p.Code)}\"", html));
    }

    private static async Task<System.Text.Json.Nodes.JsonObject?> DealProblem(HttpClient client)
    {
        var response = await client.GetAsync("/svc/request/0123/");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        return await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>(response.Content);
    }
}
