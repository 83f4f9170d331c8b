using System.Text.Json.Nodes;
using Switchboard.Cli;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Runs the management commands in process, as an operator would from the shell, with an empty
/// stdin that is not a terminal (so no command prompts); <c>Infrastructure/Cli.RunProcess</c> runs
/// the built binary.
/// </summary>
public static class Cli
{
    public static async Task<(int Exit, string Out, string Err)> Run(TestStore store, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CommandLine.RunAsync([.. args, .. store.ProcessArgs], output, error, TextReader.Null);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Runs a command with exactly these arguments (no store options added).</summary>
    public static async Task<(int Exit, string Out, string Err)> RunArgs(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CommandLine.RunAsync(args, output, error, TextReader.Null);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Runs the built executable as an OS process (bounded in time), as two operators' shells would.</summary>
    public static Task<(int Exit, string Out, string Err)> RunProcess(TimeSpan timeout, params string[] args) =>
        RunProcessIn(null, null, timeout, args);

    /// <summary>
    /// Runs the built executable in <paramref name="workingDirectory"/> (null: this process's),
    /// with <paramref name="stdin"/> piped to it (null: an empty stdin), bounded in time.
    /// </summary>
    public static async Task<(int Exit, string Out, string Err)> RunProcessIn(string? workingDirectory, string? stdin, TimeSpan timeout, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        args.ToList().ForEach(info.ArgumentList.Add);
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(stdin ?? "");
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"switchboard {string.Join(' ', args)} did not exit within {timeout}");
        }
        return (process.ExitCode, await output, await error);
    }

    /// <summary>The built executable (lowercase, as the docs name it).</summary>
    public static string Executable => Path.Combine(AppContext.BaseDirectory, "switchboard");

    public static async Task<JsonObject> Json(TestStore store, params string[] args)
    {
        var (exit, output, error) = await Run(store, args);
        Assert.True(exit == 0, $"switchboard {string.Join(' ', args)} exited {exit}: {error}");
        return (JsonObject)JsonNode.Parse(output)!;
    }

    /// <summary>Creates a user and returns (id, api key).</summary>
    public static async Task<(string Id, string Key)> CreateUser(TestStore store, string name, long credits)
    {
        var user = await Json(store, "users", "create", name, "--credits", credits.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return (user["id"]!.GetValue<string>(), user["api_key"]!.GetValue<string>());
    }

    /// <summary>Pushes (and activates) a version of an app config, as an operator would with <c>config push</c>.</summary>
    public static async Task PushConfig(TestStore store, string id, string yaml)
    {
        var file = Path.Combine(store.Path, $"{id}-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        var (exit, _, error) = await Run(store, "config", "push", file, "--id", id);
        Assert.True(exit == 0, $"config push {id} failed: {error}");
    }

    /// <summary>Points openai.chat's default endpoint profile at <paramref name="baseUrl"/> (operator config, as offers may no longer).</summary>
    public static Task PushOpenAiEndpoint(TestStore store, string baseUrl) => PushConfig(store, "svc_handlers", $"openai:\n  base_url: {baseUrl}\n");

    public static async Task ApplyCatalog(TestStore store, string yaml)
    {
        var file = Path.Combine(store.Path, $"catalog-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        var (exit, _, error) = await Run(store, "catalog", "apply", file);
        Assert.True(exit == 0, "catalog apply failed: " + error);
    }
}
