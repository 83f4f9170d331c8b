using System.Diagnostics;
using Microsoft.AspNetCore.Identity;
using System.Net;
using System.Reflection;
using System.Text.RegularExpressions;
using Switchboard.Admin.Panel;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;
using Switchboard.Users;

namespace Switchboard.Tests.Cli;

/// <summary>
/// The command line through the built <c>switchboard</c> binary, as a newcomer meets it: help
/// and version at every level without starting a server or creating <c>./data</c>; unknown
/// commands and options refused with a suggestion and exit 2; the server commands' .NET
/// configuration overrides reaching the host; completion through the <c>[suggest]</c>
/// directive and the bash script; passwords from stdin or a prompt; readable
/// logs on a terminal.
/// </summary>
public sealed partial class CommandLineParsingTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("switchboard-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private Task<(int Exit, string Out, string Err)> Run(params string[] args) => Infrastructure.Cli.RunProcessIn(_folder, null, Timeout, args);

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    [InlineData("serve", "--help")]
    [InlineData("serve", "-h")]
    [InlineData("api", "--help")]
    [InlineData("executor", "--help")]
    [InlineData("recon", "--help")]
    [InlineData("users", "--help")]
    [InlineData("users", "create", "--help")]
    [InlineData("credits", "adjust", "-h")]
    [InlineData("config", "push", "--help")]
    [InlineData("completion", "--help")]
    public async Task HelpAtEveryLevelPrintsUsageAndExitsZeroWithoutStartingAServer(params string[] args)
    {
        var (exit, output, error) = await Run(args);

        Assert.True(exit == 0, $"switchboard {string.Join(' ', args)}: exit {exit}, {error}");
        Assert.Contains("Usage:", output);
        Assert.Contains("switchboard " + string.Join(' ', args.Where(a => !a.StartsWith('-') && a != "help")), output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder)); // no ./data, no fernet.key
    }

    [Fact]
    public async Task TheServerCommandsHelpNamesTheirOptionsAndTheOverrides()
    {
        var (_, output, _) = await Run("serve", "--help");

        foreach (var option in new[] { "--urls", "--data", "--workers", "--config", "--metrics-urls", "--log-format", "--Section:Key=value" })
        {
            Assert.Contains(option, output);
        }
        Assert.DoesNotContain("--port", output);
    }

    [Fact]
    public async Task VersionPrintsTheInformationalVersion()
    {
        var (exit, output, _) = await Run("--version");

        Assert.Equal(0, exit);
        var expected = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(expected, output.Trim());
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder));
    }

    [Fact]
    public async Task ABareSwitchboardPrintsTheCommandsAndFailsWithoutServing()
    {
        var (exit, output, _) = await Run();

        Assert.Equal(1, exit);
        Assert.Contains("Commands:", output);
        Assert.Matches(@"(?m)^\s+serve\s", output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder));
    }

    [Theory]
    [InlineData("users", new[] { "usres", "list" })]
    [InlineData("--data", new[] { "users", "list", "--dta", "other" })]
    [InlineData("--urls http://127.0.0.1:9000", new[] { "serve", "--port", "9000" })]
    [InlineData("--urls", new[] { "api", "-p", "9000" })]
    [InlineData("create", new[] { "keys", "craete", "bob" })]
    [InlineData("--workers", new[] { "executor", "--worker", "4" })]
    public async Task UnknownCommandsAndOptionsAreRefusedWithASuggestionAndExitTwo(string suggestion, string[] args)
    {
        var (exit, output, error) = await Run(args);

        Assert.Equal(2, exit);
        Assert.Contains(suggestion, error);
        Assert.Contains("Usage:", error); // the command's help, with the error
        Assert.Empty(output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder)); // nothing ran: no store was opened
    }

    [Fact]
    public async Task OnlyTheServerCommandsTakeConfigurationOverrides()
    {
        var (exit, _, error) = await Run("users", "list", "--Switchboard:Workers=3");

        Assert.Equal(2, exit);
        Assert.Contains("--Switchboard:Workers=3", error);
    }

    [Fact]
    public async Task ServeTakesConfigurationOverridesInBothForms()
    {
        await using var store = TestStore.Create(StoreKind.Sqlite);
        var metrics = $"http://127.0.0.1:{SwitchboardProcess.FreePort()}";

        // --Key=value and --Key value, as operators and these tests give them.
        await using var serve = await SwitchboardProcess.Start(store, $"--Switchboard:MetricsUrls={metrics}", "--Logging:LogLevel:Default", "Debug");

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var scrape = await client.GetAsync(metrics + "/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Contains(serve.Logs, e => e["LogLevel"]!.GetValue<string>() == "Debug");
    }

    [Fact]
    public async Task TheSuggestDirectiveCompletesCommandsAndSubcommands()
    {
        var (exit, top, _) = await Run("[suggest:12]", "switchboard ");
        var (_, users, _) = await Run("[suggest:20]", "switchboard users cr");
        var (_, options, _) = await Run("[suggest:24]", "switchboard serve --metr");

        Assert.Equal(0, exit);
        Assert.Superset(new HashSet<string> { "serve", "api", "executor", "recon", "users", "keys", "credits", "catalog", "config", "usage", "audit", "keygen", "completion" }, Lines(top).ToHashSet());
        Assert.Equal(["create"], Lines(users));
        Assert.Equal(["--metrics-urls"], Lines(options));
    }

    [Fact]
    public async Task TheBashCompletionScriptCompletesThroughTheBinary()
    {
        var (exit, script, _) = await Run("completion", "bash");
        Assert.Equal(0, exit);
        var file = Path.Combine(_folder, "completion.bash");
        await File.WriteAllTextAsync(file, script);

        // What bash sets before calling the function for `switchboard users cr<TAB>`.
        var (code, output, error) = await Shell(
            $"source '{file}'; COMP_WORDS=('{Infrastructure.Cli.Executable}' users cr); COMP_CWORD=2; COMP_LINE='switchboard users cr'; COMP_POINT=20; _switchboard_complete; printf '%s\\n' \"${{COMPREPLY[@]}}\"; complete -p switchboard");

        Assert.True(code == 0, error);
        Assert.Equal(["create", "complete -o default -F _switchboard_complete switchboard"], Lines(output));
        var zsh = (await Run("completion", "zsh")).Out;
        Assert.Contains("compdef _switchboard switchboard", zsh);
        Assert.Equal(2, (await Run("completion", "fish")).Exit);
    }

    [Fact]
    public async Task PasswordsComeFromStdinThroughTheRealProcess()
    {
        await using var store = TestStore.Create(StoreKind.Sqlite);

        var created = await Infrastructure.Cli.RunProcessIn(_folder, "a long passphrase\n", Timeout, ["users", "create", "ops", "--admin", "--password-stdin", .. store.ProcessArgs]);
        Assert.True(created.Exit == 0, created.Err);
        Assert.Equal(PasswordVerificationResult.Success, PasswordHashes.Verify(Hash(store, "ops"), "a long passphrase"));

        var changed = await Infrastructure.Cli.RunProcessIn(_folder, "another passphrase\n", Timeout, ["users", "password", "ops", "--password-stdin", .. store.ProcessArgs]);
        Assert.True(changed.Exit == 0, changed.Err);
        Assert.Equal(PasswordVerificationResult.Success, PasswordHashes.Verify(Hash(store, "ops"), "another passphrase"));

        // stdin is a pipe here, not a terminal: no prompt, and the flag is named.
        var noFlag = await Infrastructure.Cli.RunProcessIn(_folder, "piped\n", Timeout, ["users", "password", "ops", .. store.ProcessArgs]);
        Assert.Equal(2, noFlag.Exit);
        Assert.Contains("--password-stdin", noFlag.Err);
        var onArgv = await Infrastructure.Cli.RunProcessIn(_folder, "", Timeout, ["users", "password", "ops", "--password", "on argv!", .. store.ProcessArgs]);
        Assert.Equal(2, onArgv.Exit);
        Assert.Contains("takes no password on the command line", onArgv.Err);
        Assert.Equal(PasswordVerificationResult.Success, PasswordHashes.Verify(Hash(store, "ops"), "another passphrase"));
        Assert.DoesNotContain("passphrase", created.Out + created.Err + changed.Out + changed.Err);
    }

    [Fact]
    public async Task OnATerminalAnAdminsPasswordIsPromptedForTwice()
    {
        await using var store = TestStore.Create(StoreKind.Sqlite);

        // (Whether the terminal echoes is not asserted: keys typed in the instant between the
        // prompt's write and the read that turns echo off would be echoed by the terminal itself.)
        var (exit, screen) = await AtATerminal([Infrastructure.Cli.Executable, "users", "create", "boss", "--admin", .. store.ProcessArgs],
            ("New password: ", "typed passphrase\r"), ("Again: ", "typed passphrase\r"));

        Assert.True(exit == 0, screen);
        Assert.Contains("\"name\":\"boss\"", screen);
        Assert.Equal(PasswordVerificationResult.Success, PasswordHashes.Verify(Hash(store, "boss"), "typed passphrase"));
    }

    [Fact]
    public async Task OnATerminalServeWritesReadableLinesAndTheFirstAdminBannerUnlessJsonIsAskedFor()
    {
        var readable = await UnderATerminal("serve", "--data", Path.Combine(_folder, "text"));
        Assert.Contains(readable, l => l.Contains("Store ready", StringComparison.Ordinal));
        Assert.DoesNotContain(readable, l => l.StartsWith('{'));
        Assert.Contains(readable, l => l.StartsWith(FirstAdmin.PasswordLabel, StringComparison.Ordinal));
        // The password is in the banner only, never in a log line.
        var password = readable.Single(l => l.StartsWith(FirstAdmin.PasswordLabel, StringComparison.Ordinal))[FirstAdmin.PasswordLabel.Length..];
        Assert.Single(readable, l => l.Contains(password, StringComparison.Ordinal));

        var json = await UnderATerminal("serve", "--data", Path.Combine(_folder, "json"), "--log-format", "json");
        Assert.Contains(json, l => l.StartsWith('{') && l.Contains("\"Message\":\"Store ready", StringComparison.Ordinal));
    }

    /// <summary>
    /// Runs a server with a pseudo-terminal as its stdout and stderr (util-linux <c>script</c>),
    /// until its first admin's banner is written; its lines, without the colours and terminal modes .NET sets.
    /// </summary>
    private static async Task<List<string>> UnderATerminal(params string[] args)
    {
        var url = $"http://127.0.0.1:{SwitchboardProcess.FreePort()}";
        var command = string.Join(' ', ((string[])[Infrastructure.Cli.Executable, .. args, "--urls", url]).Select(a => $"'{a}'"));
        var info = new ProcessStartInfo("script", ["-qefc", command, "/dev/null"])
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var lines = new List<string>();
        try
        {
            using var deadline = new CancellationTokenSource(Timeout);
            while (await process.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                lines.Add(Ansi().Replace(line, "").TrimEnd('\r'));
                // The banner ends with the password's line. (A log line written by another
                // thread at the same moment can come between the banner's lines on the terminal.)
                if (lines[^1].StartsWith(FirstAdmin.PasswordLabel, StringComparison.Ordinal))
                {
                    return lines;
                }
            }
            throw new InvalidOperationException("the server ended before its banner: " + string.Join('\n', lines));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>
    /// Runs a command with a pseudo-terminal as its stdin and stdout (util-linux <c>script</c>),
    /// answering each prompt once it is on the screen; the exit code and the whole screen.
    /// </summary>
    private static async Task<(int Exit, string Screen)> AtATerminal(string[] command, params (string Prompt, string Answer)[] dialogue)
    {
        var info = new ProcessStartInfo("script", ["-qefc", string.Join(' ', command.Select(a => $"'{a}'")), "/dev/null"])
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        using var deadline = new CancellationTokenSource(Timeout);
        var screen = new System.Text.StringBuilder();
        var buffer = new char[256];
        try
        {
            foreach (var (prompt, answer) in dialogue)
            {
                while (!screen.ToString().EndsWith(prompt, StringComparison.Ordinal))
                {
                    var read = await process.StandardOutput.ReadAsync(buffer, deadline.Token);
                    Assert.True(read > 0, $"no prompt '{prompt}' before the end: {screen}");
                    screen.Append(buffer, 0, read);
                }
                await process.StandardInput.WriteAsync(answer);
                await process.StandardInput.FlushAsync(deadline.Token);
            }
            screen.Append(await process.StandardOutput.ReadToEndAsync(deadline.Token));
            await process.WaitForExitAsync(deadline.Token);
            return (process.ExitCode, screen.ToString());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task<(int Exit, string Out, string Err)> Shell(string script)
    {
        var info = new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Timeout);
        return (process.ExitCode, await output, await error);
    }

    private static string Hash(TestStore store, string name) => store.Query(c =>
    {
        using var command = c.Sql("SELECT password_hash FROM users WHERE name = @name", ("@name", name));
        return (string)command.ExecuteScalar()!;
    });

    private static List<string> Lines(string text) => [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    [GeneratedRegex(@"\x1B(\[[0-9;?]*[A-Za-z]|[=>])")]
    private static partial Regex Ansi();
}
