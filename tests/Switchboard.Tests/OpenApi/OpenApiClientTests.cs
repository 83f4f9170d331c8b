using System.Diagnostics;

namespace Switchboard.Tests.OpenApi;

/// <summary>
/// The documents as tools no one here wrote read them (tests/openapi-client, installed by
/// ./test.sh with <c>npm ci</c>): redocly lints both with its recommended rules,
/// openapi-typescript turns the client document into types, tsc compiles a small openapi-fetch
/// client against them, and node runs it against a real server process: submit, poll, result,
/// cancel, and a problem answer with its type resolving. Without node, npm or the packages the
/// test fails.
/// </summary>
public sealed class OpenApiClientTests : AppTests
{
    private SwitchboardProcess? _serve;
    private string _key = "";

    public static string ClientDir => Path.Combine(RepoRoot(), "tests", "openapi-client");

    protected override async Task<TestApp> StartAsync()
    {
        var app = await TestApp.StartAsync(StoreKind.Sqlite, catalog: TestCatalogs.OnEchoRender("""
            offers:
              - {service: text, action: shout, handler: echo.render, price: 2, prompt_template: "Say {word}"}
              - {service: text, action: slow, handler: echo.render, price: 3, prompt_template: "Later {word}", params: {delay_ms: 60000}}
            """));
        _key = (await app.AddUserAsync("alice", 100)).Key;
        _serve = await app.StartServeAsync();
        return app;
    }

    [Fact]
    public async Task IndependentToolsLintTheDocumentsAndAGeneratedClientMakesARoundTrip()
    {
        Assert.True(Directory.Exists(Path.Combine(ClientDir, "node_modules", "openapi-fetch")),
            "tests/openapi-client has no node_modules: run `npm ci` there (./test.sh does)");
        var outDir = Path.Combine(ClientDir, "out");
        Directory.CreateDirectory(outDir);
        using var http = new HttpClient { BaseAddress = _serve!.Address };
        await File.WriteAllTextAsync(Path.Combine(outDir, "svc.json"), await http.GetStringAsync("/svc/openapi.json"));
        await File.WriteAllTextAsync(Path.Combine(outDir, "admin.json"), await http.GetStringAsync("/admin/api/openapi.json"));

        var lint = await Run("npx", "--no-install", "redocly", "lint", "out/svc.json", "out/admin.json", "--config", "redocly.yaml");
        Assert.True(lint.Exit == 0, "redocly lint refused a document:\n" + lint.Output);
        var types = await Run("npx", "--no-install", "openapi-typescript", "out/svc.json", "--output", "out/svc.ts");
        Assert.True(types.Exit == 0, types.Output);
        var compile = await Run("npx", "--no-install", "tsc", "-p", "tsconfig.json");
        Assert.True(compile.Exit == 0, "the generated client does not compile:\n" + compile.Output);
        var run = await Run("node", ["out/js/client.js"], new() { ["SB_URL"] = _serve.Address!.ToString(), ["SB_KEY"] = _key });
        Assert.True(run.Exit == 0, "the client failed:\n" + run.Output);

        var seen = JsonNode.Parse(run.Stdout.Trim().Split('\n')[^1])!;
        Assert.Equal("succeeded", seen["status"]!.GetValue<string>());
        Assert.Equal(["Say hello #1"], seen["results"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("cancelled", seen["cancelled"]!.GetValue<string>());
        var problem = seen["problem"]!;
        Assert.Equal(400, problem["status"]!.GetValue<int>());
        Assert.Equal("application/problem+json", problem["contentType"]!.GetValue<string>());
        Assert.Equal("invalid_inputs", problem["code"]!.GetValue<string>());
        Assert.Equal("/docs/problems#invalid_inputs", problem["type"]!.GetValue<string>());
        Assert.Equal(200, seen["typePage"]!["status"]!.GetValue<int>());
        Assert.True(seen["typePage"]!["anchored"]!.GetValue<bool>());
    }

    private static Task<(int Exit, string Stdout, string Output)> Run(string file, params string[] args) => Run(file, args, []);

    /// <summary>Runs a tool in tests/openapi-client, bounded by two minutes.</summary>
    private static async Task<(int Exit, string Stdout, string Output)> Run(string file, string[] args, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = ClientDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        args.ToList().ForEach(info.ArgumentList.Add);
        // No update checks or telemetry: the run stays on this machine.
        info.Environment["NO_UPDATE_NOTIFIER"] = "1";
        info.Environment["REDOCLY_TELEMETRY"] = "off";
        info.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start (is node/npm installed?)");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran past two minutes");
        }
        return (process.ExitCode, await stdout, $"$ {file} {string.Join(' ', args)}\n{await stdout}\n{await stderr}");
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new DirectoryNotFoundException("repository root not found");
    }
}
