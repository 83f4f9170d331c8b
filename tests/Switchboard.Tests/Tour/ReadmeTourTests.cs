using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Switchboard.Tests.Tour;

/// <summary>
/// README.md's "A two-minute tour", run from the README itself so that it cannot drift: its
/// fenced blocks, in order, as a newcomer would copy them (the build in the repository, the server
/// in the background on a free port, the second terminal's steps in one shell), against a fresh
/// store. Blocks that start with <c># optional:</c> (the internet, a tool Debian does not
/// package) are skipped, and only those.
/// </summary>
public sealed partial class ReadmeTourTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(8);
    private static readonly TimeSpan ServerStartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StepsTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task EveryBlockOfTheTourRunsUnlessItIsOptionalForTheInternetOrAToolDebianDoesNotPackage()
    {
        var section = ReadmeTour.Section();
        var blocks = ReadmeTour.Blocks();
        // Nothing in the tour escapes the test: every block is a fenced sh block (no other
        // language, no indented code block).
        Assert.All(blocks, b => Assert.Equal("sh", b.Info));
        Assert.DoesNotContain(OutsideFences(section), l => l.StartsWith("    ", StringComparison.Ordinal) || l.StartsWith('\t'));

        var optional = blocks.Where(b => b.Kind == TourBlockKind.Optional).ToList();
        Assert.NotEmpty(optional); // websocat and OpenAI at least.
        Assert.All(optional, b => Assert.Matches("internet|not packaged by Debian", b.OptionalReason!));
        Assert.Contains(optional, b => b.Text.Contains("websocat ", StringComparison.Ordinal));
        Assert.Contains(optional, b => b.Text.Contains("/svc/chat/haiku/", StringComparison.Ordinal));

        var (build, server, steps) = Plan(blocks);
        Assert.Equal(blocks.Except(optional).Select(b => b.Index), new[] { build, server }.Concat(steps).Select(b => b.Index).Order());
        Assert.True(build.Index < server.Index && server.Index < steps[0].Index, "the tour builds, then starts the server, then takes its steps");
        Assert.Contains("./out/switchboard serve", server.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(steps, s => s.Text.Contains("dotnet run", StringComparison.Ordinal));

        // The server's URL is one variable, set in each terminal: no run block names the port elsewhere.
        Assert.Contains(ReadmeTour.UrlAssignment, server.Text.Split('\n'));
        Assert.Contains(ReadmeTour.UrlAssignment, steps[0].Text.Split('\n'));
        Assert.All(steps.Prepend(server), b => Assert.DoesNotContain("8080", WithUrl(b.Text, "http://127.0.0.1:1"), StringComparison.Ordinal));

        // The panel, its first login and the API reference are named.
        Assert.Contains("`$SB/admin/`", section, StringComparison.Ordinal);
        Assert.Contains("`admin`", section, StringComparison.Ordinal);
        Assert.Contains("`$SB/docs`", section, StringComparison.Ordinal);
        Assert.Contains("`jq`", section, StringComparison.Ordinal);
        Assert.Contains("`curl`", section, StringComparison.Ordinal);

        foreach (var block in optional)
        {
            output.WriteLine($"skipped block {block.Index}: {block.OptionalReason}");
            // Not run, but at least read by bash: a typo there would reach readers unseen.
            var (exit, _, error) = await TourShell.Run("bash -n <<'BLOCK'\n" + block.Text + "\nBLOCK", Path.GetTempPath(), TimeSpan.FromSeconds(30));
            Assert.True(exit == 0, $"optional block {block.Index} is not valid bash: {error}");
        }
    }

    [Fact]
    public async Task TheTourRunsAsWrittenAgainstAFreshServer()
    {
        var (build, server, steps) = Plan(ReadmeTour.Blocks());
        var root = ReadmeTour.RepositoryRoot();

        // The build runs in the repository itself: MSBuild does not resolve links, so building
        // through the tour folder's link to src/ would restore the project under a second path.
        var built = await TourShell.Run(build.Text, root, BuildTimeout);
        Assert.True(built.Exit == 0, $"the build block failed ({built.Exit}):\n{built.Out}\n{built.Err}");

        var folder = Directory.CreateTempSubdirectory("sb-tour-").FullName;
        try
        {
            LinkRepository(root, folder);
            var url = $"http://127.0.0.1:{SwitchboardProcess.FreePort()}";
            await using var serverShell = TourShell.Start(WithUrl(server.Text, url), folder);
            await WaitUntilReady(serverShell, url);

            var script = string.Join('\n', steps.Select(s => WithUrl(s.Text, url)));
            var (exit, stdout, stderr) = await TourShell.Run(script, folder, StepsTimeout);
            output.WriteLine(stdout);
            Assert.True(exit == 0, $"the tour's steps failed ({exit}):\n{stdout}\n{stderr}\n--- server:\n{string.Join('\n', serverShell.Lines.TakeLast(40))}");
            AssertTheOutputsTheReadmeSays(JsonValues(stdout), stdout);

            // What the tour did, read back from the store it used by the management commands.
            var alice = await TourShell.Run("./out/switchboard credits show alice", folder, TimeSpan.FromMinutes(1));
            Assert.True(alice.Exit == 0, alice.Err);
            Assert.Equal(95, JsonNode.Parse(alice.Out)!["credits"]!.GetValue<long>());
            var audit = await TourShell.Run("./out/switchboard credits audit", folder, TimeSpan.FromMinutes(1));
            Assert.True(audit.Exit == 0, $"credits audit found problems: {audit.Out}{audit.Err}");

            await AssertTheFirstAdminLogsIntoThePanel(serverShell, url);
        }
        finally
        {
            // The links first, each unlinked alone: only then can the folder go without touching what they point at.
            foreach (var link in new DirectoryInfo(folder).EnumerateFileSystemInfos().Where(e => e.LinkTarget is not null))
            {
                File.Delete(link.FullName);
            }
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The expected outputs the tour's comments state.</summary>
    private static void AssertTheOutputsTheReadmeSays(IReadOnlyList<JsonNode> values, string stdout)
    {
        var objects = values.OfType<JsonObject>().ToList();
        JsonObject One(string what, Func<JsonObject, bool> match)
        {
            var found = objects.Where(match).ToList();
            Assert.True(found.Count == 1, $"expected one {what} in the tour's output, found {found.Count}:\n{stdout}");
            return found[0];
        }
        string? Text(JsonObject o, string key) => o[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

        var catalog = One("catalog", o => o["services"] is JsonArray);
        Assert.Contains(catalog["deals"]!.AsArray(), d => d!["name"]!.GetValue<string>() == "blog-pack");
        var paths = Assert.Single(values.OfType<JsonArray>()).Select(p => p!.GetValue<string>()).ToList();
        Assert.Contains("/svc/text/shout/", paths);

        Assert.Equal(10, One("quote", o => Text(o, "deal") == "blog-pack")["price"]!.GetValue<long>());

        var shout = One("request object", o => Text(o, "action") == "shout");
        Assert.Equal("succeeded", Text(shout, "status"));
        Assert.Equal(new[] { "Say hello loudly to Bob #1", "Say hello loudly to Bob #2" }, shout["results"]!.AsArray().Select(r => r!.GetValue<string>()));

        var scalars = values.OfType<JsonValue>().ToList();
        // The resubmit's status, then the cancel's.
        Assert.Equal(new[] { "succeeded", "cancelled" }, scalars.Where(v => v.GetValueKind() == JsonValueKind.String).Select(v => v.GetValue<string>()));
        // /docs/'s HTTP status, then the balance.
        Assert.Equal(new[] { 200L, 95L }, scalars.Where(v => v.GetValueKind() == JsonValueKind.Number).Select(v => v.GetValue<long>()));

        var problem = One("problem", o => o["code"] is not null);
        Assert.Equal("invalid_inputs", Text(problem, "code"));
        Assert.Equal(400, problem["status"]!.GetValue<int>());
        Assert.Equal(new[] { "colour", "name" }, problem["errors"]!.AsObject().Select(e => e.Key).Order());
    }

    private static async Task AssertTheFirstAdminLogsIntoThePanel(TourShell serverShell, string url)
    {
        var password = await FirstAdminPassword(serverShell);
        using var client = PanelSession.HttpClient(new Uri(url), new CookieContainer());
        var panel = await client.GetAsync("/admin/");
        Assert.Equal(HttpStatusCode.Redirect, panel.StatusCode); // To the login page, which answers:
        var login = await client.GetAsync(panel.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Contains("name=\"password\"", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(client, "admin", password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin/")).StatusCode);
    }

    /// <summary>
    /// The first admin's password, as the server printed it at its first start (the one place the
    /// tour's reader learns it). Only this function knows how it is printed: today a line on
    /// stderr, "... the password XXXX ...", apart from the JSON log lines.
    /// </summary>
    private static async Task<string> FirstAdminPassword(TourShell serverShell)
    {
        List<string> Printed() => [.. serverShell.Lines.Select(l => PrintedPassword().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).Distinct()];
        await Wait.Until(() => Printed().Count > 0, TimeSpan.FromSeconds(10),
            () => $"the server to print the first admin password:\n{string.Join('\n', serverShell.Lines)}", poll: TimeSpan.FromMilliseconds(100));
        var found = Printed();
        Assert.True(found.Count == 1, $"expected the server to print one first admin password, found {found.Count}:\n{string.Join('\n', serverShell.Lines)}");
        return found[0];
    }

    [GeneratedRegex(@"\bpassword\b\W{0,8}([A-Za-z0-9]{20,})", RegexOptions.IgnoreCase)]
    private static partial Regex PrintedPassword();

    private static (TourBlock Build, TourBlock Server, List<TourBlock> Steps) Plan(IReadOnlyList<TourBlock> blocks)
    {
        var build = Assert.Single(blocks, b => b.Kind == TourBlockKind.Build);
        var server = Assert.Single(blocks, b => b.Kind == TourBlockKind.Server);
        var steps = blocks.Where(b => b.Kind == TourBlockKind.Step).ToList();
        Assert.NotEmpty(steps);
        return (build, server, steps);
    }

    /// <summary>The block with the server's URL set to <paramref name="url"/> (the README's one variable).</summary>
    private static string WithUrl(string block, string url) =>
        string.Join('\n', block.Split('\n').Select(l => l == ReadmeTour.UrlAssignment ? $"SB={url}" : l));

    /// <summary>
    /// The tour's folder: links to the repository's top-level entries (out/, examples/, …) beside
    /// its own ./data, so the server starts on a fresh store and the repository's is left alone.
    /// </summary>
    private static void LinkRepository(string root, string folder)
    {
        foreach (var entry in new DirectoryInfo(root).EnumerateFileSystemInfos().Where(e => !e.Name.StartsWith('.') && e.Name != "data"))
        {
            File.CreateSymbolicLink(Path.Combine(folder, entry.Name), entry.FullName);
        }
    }

    private static async Task WaitUntilReady(TourShell serverShell, string url)
    {
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };
        await Wait.Until(async () =>
            {
                Assert.False(serverShell.HasExited, $"the server block exited:\n{string.Join('\n', serverShell.Lines)}");
                try
                {
                    return (await client.GetAsync("/readyz")).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false; // Not listening yet.
                }
                catch (TaskCanceledException)
                {
                    return false; // A slow answer while it starts: asked again.
                }
            },
            ServerStartTimeout, () => $"the server to be ready:\n{string.Join('\n', serverShell.Lines)}", poll: TimeSpan.FromMilliseconds(200));
    }

    /// <summary>
    /// The JSON values a stdout holds, in order: jq's pretty objects and arrays (from a line "{" or
    /// "[" to the matching unindented "}" or "]") and one-line values; other lines (a command's
    /// plain text) are passed over.
    /// </summary>
    private static List<JsonNode> JsonValues(string stdout)
    {
        var values = new List<JsonNode>();
        var lines = stdout.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var text = lines[i];
            if (text is "{" or "[")
            {
                var close = text == "{" ? "}" : "]";
                var start = i;
                while (i < lines.Length - 1 && lines[i] != close)
                {
                    i++;
                }
                text = string.Join('\n', lines[start..(i + 1)]);
            }
            try
            {
                if (text.Length > 0 && JsonNode.Parse(text) is { } value)
                {
                    values.Add(value);
                }
            }
            catch (JsonException)
            {
                // Plain text, e.g. what catalog apply says it applied.
            }
        }
        return values;
    }

    private static IEnumerable<string> OutsideFences(string section)
    {
        var inside = false;
        foreach (var line in section.Split('\n'))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inside = !inside;
            }
            else if (!inside)
            {
                yield return line;
            }
        }
    }
}
