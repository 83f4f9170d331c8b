using System.Runtime.Loader;
using Switchboard.Handlers;
using Switchboard.Handlers.Plugins;

namespace Switchboard.Tests.Handlers;

/// <summary>The plugin loader on real files: the sample plugin's build, copies of it, and files that are not plugins.</summary>
public sealed class PluginLoaderTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "switchboard-tests", "plugins-" + Guid.NewGuid().ToString("N")[..12]);

    public PluginLoaderTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private PluginFolder Folder => new(_folder, Named: true);

    [Fact]
    public void TheSamplePluginsHandlersJoinTheRegistryFromTheirOwnLoadContext()
    {
        var file = PluginTestFolder.Install(_folder);

        var registry = new ServiceCollection().AddHandlers(Folder).BuildServiceProvider().GetRequiredService<HandlerRegistry>();

        var wordCount = registry.Find("sample.wordcount")!;
        Assert.IsType<PluginLoadContext>(AssemblyLoadContext.GetLoadContext(wordCount.GetType().Assembly));
        // The contract is the host's one type, not a copy from the plugin's folder.
        Assert.Same(typeof(IServiceHandler).Assembly, wordCount.GetType().GetInterface(nameof(IServiceHandler))!.Assembly);
        Assert.Equal(
            [("echo.render", HandlerRegistry.BuiltIn), ("openai.chat", HandlerRegistry.BuiltIn), ("sample.reverse", file), ("sample.wordcount", file)],
            registry.Origins.Where(o => o.Id is "echo.render" or "openai.chat" || o.Id.StartsWith("sample.", StringComparison.Ordinal)).Select(o => (o.Id, o.Source)));
        Assert.Equal("1.1.0", registry.Origins.Single(o => o.Id == "sample.reverse").Version);
    }

    [Fact]
    public void AFileOfRandomBytesIsRefusedNamingIt()
    {
        var file = Path.Combine(Directory.CreateDirectory(Path.Combine(_folder, "broken")).FullName, "broken.dll");
        File.WriteAllBytes(file, RandomBytes(4096));

        var refused = Assert.Throws<PluginException>(() => PluginLoader.Load(Folder));

        Assert.Equal($"handler plugin {file}: is not a .NET assembly (a corrupt or truncated copy, or a native library)", refused.Message);
    }

    [Fact]
    public void AnAssemblyThatIsNotBuiltAgainstTheContractIsRefused()
    {
        // A real .NET assembly that knows nothing of handlers.
        var target = Directory.CreateDirectory(Path.Combine(_folder, "yaml")).FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, "YamlDotNet.dll"), Path.Combine(target, "yaml.dll"));

        var refused = Assert.Throws<PluginException>(() => PluginLoader.Load(Folder));

        Assert.Contains("yaml.dll: does not reference Switchboard.Handlers.Abstractions", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APluginBuiltAgainstAnotherMajorVersionOfTheContractIsRefused()
    {
        var file = PluginTestFolder.Install(_folder);
        PluginTestFolder.SetContractVersion(file, new Version(2, 0, 0, 0));

        var refused = Assert.Throws<PluginException>(() => PluginLoader.Load(Folder));

        Assert.Equal(
            $"handler plugin {file}: it is built against Switchboard.Handlers.Abstractions 2.0.0, a different major version from this Switchboard's {ContractVersion.Host.ToString(3)}: rebuild it against {ContractVersion.Host.ToString(3)}",
            refused.Message);
    }

    [Fact]
    public void APluginBuiltAgainstAnOlderMinorOfTheSameMajorLoads()
    {
        var file = PluginTestFolder.Install(_folder);
        PluginTestFolder.SetContractVersion(file, new Version(ContractVersion.Host.Major, 0, 0, 0));

        Assert.Equal(["sample.reverse", "sample.wordcount"], PluginLoader.Load(Folder).Select(p => p.Handler.Id));
    }

    [Fact]
    public void ALooseAssemblyIsRefusedWithTheFolderItBelongsIn()
    {
        File.Copy(Path.Combine(PluginTestFolder.SampleBuild, "SampleHandlers.dll"), Path.Combine(_folder, "SampleHandlers.dll"));

        var refused = Assert.Throws<PluginException>(() => PluginLoader.Load(Folder));

        Assert.Contains($"a plugin goes in a folder of its own: {Path.Combine(_folder, "SampleHandlers", "SampleHandlers.dll")}", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFolderWithoutItsAssemblyIsRefused()
    {
        Directory.CreateDirectory(Path.Combine(_folder, "acme"));

        var refused = Assert.Throws<PluginException>(() => PluginLoader.Load(Folder));

        Assert.StartsWith($"handler plugin {Path.Combine(_folder, "acme", "acme.dll")}: not found", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoPluginsWithTheSameHandlerIdAreRefusedNamingBoth()
    {
        var first = PluginTestFolder.Install(_folder, "a_words");
        var second = PluginTestFolder.Install(_folder, "b_words");

        var refused = Assert.Throws<PluginException>(() => PluginLoader.Load(Folder));

        Assert.Equal($"handler plugin {second}: its handler 'sample.reverse' has the id of a handler of {first}: handler ids are unique", refused.Message);
    }

    [Fact]
    public void APluginHandlerWithABuiltInsIdIsRefusedAtRegistration()
    {
        var file = PluginTestFolder.Install(_folder);
        var services = new ServiceCollection();
        // A handler of the host (this assembly's, in the default load context) with a plugin handler's id.
        services.AddSingleton<IServiceHandler>(new NamedHandler("sample.wordcount"));

        var refused = Assert.Throws<PluginException>(() => services.AddHandlers(Folder));

        Assert.Equal($"handler plugin {file}: its handler 'sample.wordcount' has the id of a built-in handler: handler ids are unique", refused.Message);
    }

    [Fact]
    public void ANamedFolderThatDoesNotExistIsRefusedButTheDefaultMayBeAbsent()
    {
        var missing = Path.Combine(_folder, "nowhere");

        var refused = Assert.Throws<PluginException>(() => PluginLoader.Load(new PluginFolder(missing, Named: true)));

        Assert.Contains("does not exist", refused.Message, StringComparison.Ordinal);
        Assert.Empty(PluginLoader.Load(new PluginFolder(missing, Named: false)));
    }

    [Fact]
    public void TheBootstrapNamesThePluginsFolderOrLeavesTheDefault()
    {
        static Config.BootstrapConfig Read(string yaml) => Config.BootstrapConfig.FromDocument(Config.YamlJson.Parse(yaml)!.AsObject(), "boot.yaml");

        Assert.Equal(new PluginFolder("/opt/sb/handlers", Named: true), Read("version: 1.0\nplugins: {path: /opt/sb/handlers}").Plugins);
        Assert.Equal(new PluginFolder("handlers", Named: false), Read("version: 1.0").Plugins);
        Assert.Equal(PluginFolder.Default, Config.BootstrapConfig.Embedded(_folder).Plugins);
        var empty = Assert.Throws<Config.BootstrapException>(() => Read("version: 1.0\nplugins: {path: ''}"));
        Assert.Equal("boot.yaml: 'plugins.path' is empty; name a folder or leave the key out", empty.Message);
        var notMapping = Assert.Throws<Config.BootstrapException>(() => Read("version: 1.0\nplugins: handlers"));
        Assert.Equal("boot.yaml: 'plugins' must be a mapping", notMapping.Message);
    }

    [Theory]
    [InlineData("1.0.0", "1.0.0", null)]
    [InlineData("1.0.0", "1.4.2", null)]
    [InlineData("1.4.0", "1.4.0", null)]
    [InlineData("2.0.0", "1.0.0", "a different major version")]
    [InlineData("0.9.0", "1.0.0", "a different major version")]
    [InlineData("1.3.0", "1.1.0", "newer than this Switchboard's 1.1.0")]
    public void APluginRunsOnTheSameMajorAndAMinorAtLeastItsOwn(string built, string host, string? problem)
    {
        var found = ContractVersion.Problem(Version.Parse(built), Version.Parse(host));

        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found, StringComparison.Ordinal);
            Assert.Contains($"built against Switchboard.Handlers.Abstractions {built}", found, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("sample.wordcount", true)]
    [InlineData("a1.b_2", true)]
    [InlineData("Sample.wordcount", false)]
    [InlineData("sample", false)]
    [InlineData("sample.word-count", false)]
    [InlineData("sample.wordcount\n", false)]
    [InlineData("1a.b", false)]
    public void AHandlerIdIsModuleDotMethodInLowercase(string id, bool valid) => Assert.Equal(valid, HandlerRegistry.IsValidId(id));

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private sealed class NamedHandler(string id) : IServiceHandler
    {
        public string Id => id;

        public Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
