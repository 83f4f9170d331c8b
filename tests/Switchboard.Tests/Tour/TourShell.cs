using System.Collections.Concurrent;
using System.Diagnostics;

namespace Switchboard.Tests.Tour;

/// <summary>
/// README blocks run by bash as a reader's terminal would run them, with <c>set -euo pipefail</c>
/// added (a failing command fails the block instead of being printed past).
/// </summary>
public sealed class TourShell : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private TourShell(Process process)
    {
        _process = process;
    }

    /// <summary>Every line the shell and its commands wrote so far, stdout and stderr.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <paramref name="script"/> in the background (the server's terminal).</summary>
    public static TourShell Start(string script, string folder)
    {
        var shell = new TourShell(Process.Start(Bash(script, folder))!);
        shell._process.OutputDataReceived += (_, e) => shell.Keep(e.Data);
        shell._process.ErrorDataReceived += (_, e) => shell.Keep(e.Data);
        shell._process.BeginOutputReadLine();
        shell._process.BeginErrorReadLine();
        shell._process.StandardInput.Close();
        return shell;
    }

    /// <summary>Runs <paramref name="script"/> to its end, at most <paramref name="timeout"/>.</summary>
    public static async Task<(int Exit, string Out, string Err)> Run(string script, string folder, TimeSpan timeout)
    {
        using var process = Process.Start(Bash(script, folder))!;
        process.StandardInput.Close(); // A command that reads stdin gets end of file, as from </dev/null.
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"the block did not finish within {timeout}:\n{script}\n--- stdout:\n{await output}\n--- stderr:\n{await error}");
        }
        return (process.ExitCode, await output, await error);
    }

    private static ProcessStartInfo Bash(string script, string folder)
    {
        var info = new ProcessStartInfo("bash")
        {
            WorkingDirectory = folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("set -euo pipefail\n" + script);
        // A reader's terminal has none of the variables `dotnet test` hands its test host (MSBuild's
        // and the test platform's): the README's `dotnet publish` must work without them.
        foreach (var name in info.Environment.Keys.Where(HandedByDotnetTest).ToList())
        {
            info.Environment.Remove(name);
        }
        // And the build leaves no server behind, which would outlive the test holding its output pipe.
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["UseSharedCompilation"] = "false";
        return info;
    }

    private static bool HandedByDotnetTest(string name) =>
        name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || name.StartsWith("_MSBUILD", StringComparison.Ordinal)
        || name.StartsWith("VSTEST_", StringComparison.Ordinal) || name == "DOTNET_HOST_PATH";

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
        }
    }

    /// <summary>Ends the shell and whatever it started (the server), as closing the terminal would.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        _process.Dispose();
    }
}
