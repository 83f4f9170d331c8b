using System.Diagnostics;
using Switchboard.Tests.OpenApi;

namespace Switchboard.Tests.Architecture;

/// <summary>
/// The folder dependency graph of src/Switchboard, computed by <c>scripts/folder-graph</c> (the
/// one implementation, also run by hand): no feature folder may reach itself through the folders
/// it uses, only the composition root uses Hosting/ and Admin/Panel/, and docs/architecture.md
/// shows the graph as it is.
/// </summary>
public sealed class FolderGraphTests
{
    [Fact]
    public async Task FeatureFoldersHaveNoImportCycle()
    {
        var (exit, output) = await FolderGraph();
        // The output names each cycle and the edge that closes it (and `--why A B` lists its files).
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task ArchitectureDocShowsTheCurrentGraph()
    {
        var (exit, output) = await FolderGraph("--check-docs");
        Assert.True(exit == 0, output);
    }

    private static async Task<(int Exit, string Output)> FolderGraph(params string[] args)
    {
        var root = OpenApiClientTests.RepoRoot();
        var info = new ProcessStartInfo("python3")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Path.Combine(root, "scripts", "folder-graph"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("python3 did not start (scripts/services.sh installs it)");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, $"$ scripts/folder-graph {string.Join(' ', args)}\n{await stdout}{await stderr}");
    }
}
