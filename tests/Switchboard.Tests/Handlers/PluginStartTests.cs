namespace Switchboard.Tests.Handlers;

/// <summary>A broken plugin stops a real server's start: exit 1, one line on stderr naming the file, no stack trace.</summary>
public sealed class PluginStartTests
{
    [Fact]
    public async Task ServeRefusesToStartWithACorruptPluginInTheDefaultFolderNamingTheFile()
    {
        // The default folder is ./handlers in the working directory: the test's own folder here.
        await using var store = TestStore.Create(StoreKind.Sqlite);
        var plugin = Directory.CreateDirectory(Path.Combine(store.Path, "handlers", "broken")).FullName;
        var bytes = new byte[8192];
        Random.Shared.NextBytes(bytes);
        await File.WriteAllBytesAsync(Path.Combine(plugin, "broken.dll"), bytes);

        var (exit, _, error) = await Infrastructure.Cli.RunProcessIn(store.Path, null, TimeSpan.FromSeconds(60),
            "serve", "--data", Path.Combine(store.Path, "data"), "--urls", "http://127.0.0.1:0");

        Assert.Equal(1, exit);
        Assert.Equal(
            "switchboard: handler plugin handlers/broken/broken.dll: is not a .NET assembly (a corrupt or truncated copy, or a native library)",
            error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single());
    }

    [Fact]
    public async Task CatalogApplyRefusesTooSoTheOperatorLearnsBeforeAnyServerStarts()
    {
        await using var store = TestStore.Create(StoreKind.Sqlite);
        var plugins = Directory.CreateDirectory(Path.Combine(store.Path, "plugins")).FullName;
        Directory.CreateDirectory(Path.Combine(plugins, "empty"));
        var bootstrap = store.WriteBootstrap("plugins.yaml", lines: $"plugins: {{path: '{plugins}'}}");
        var catalog = Path.Combine(store.Path, "catalog.yaml");
        await File.WriteAllTextAsync(catalog, TestCatalogs.OnEchoRender("offers: []"));

        var (exit, output, error) = await Infrastructure.Cli.RunArgs("catalog", "apply", catalog, "--config", bootstrap);

        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.StartsWith($"switchboard: handler plugin {Path.Combine(plugins, "empty", "empty.dll")}: not found", error, StringComparison.Ordinal);
    }
}
