using System.Diagnostics;
using System.Text;

namespace Switchboard.Tests.Deployment;

/// <summary>
/// Runs <c>docker</c> and <c>docker-compose</c> (the dockerd test.sh started: its socket is in
/// <c>DOCKER_HOST</c>), each call bounded in time and killed when it runs over, with its output
/// kept for the failure message.
/// </summary>
public static class DockerCli
{
    /// <summary>What a finished command left.</summary>
    public sealed record Result(int ExitCode, string Output)
    {
        /// <summary>The last lines of the output: enough to see why a build or a start failed.</summary>
        public string Tail(int lines = 40) => string.Join('\n', Output.Split('\n').TakeLast(lines));
    }

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/> and <paramref name="environment"/>
    /// on top of the test's own, with <paramref name="input"/> on stdin; kills it after
    /// <paramref name="timeout"/>.
    /// </summary>
    public static async Task<Result> Run(string file, IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null, string? input = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        // The classic builder: it uses the base images test.sh made locally and never pulls them.
        info.Environment["DOCKER_BUILDKIT"] = "0";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var output = new StringBuilder();
        void Append(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            lock (output)
            {
                throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} ran longer than {timeout}; its output:\n{output}");
            }
        }
        lock (output)
        {
            return new Result(process.ExitCode, output.ToString());
        }
    }

    /// <summary>Like <see cref="Run"/>, failing the test with the output's tail unless the command exits 0.</summary>
    public static async Task<Result> RunOk(string file, IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null, string? input = null)
    {
        var result = await Run(file, args, timeout, environment, workingDirectory, input);
        Assert.True(result.ExitCode == 0, $"{file} {string.Join(' ', args)} exited with {result.ExitCode}:\n{result.Tail()}");
        return result;
    }
}
