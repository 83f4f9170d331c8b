using Switchboard.Config;

namespace Switchboard.Tests.Security;

/// <summary>
/// The embedded store's files are the owner's only: a fresh <c>serve</c> or CLI run creates the
/// data folder 0700 and the database (with its -wal and -shm) and <c>fernet.key</c> 0600; files
/// that an older version left wider are narrowed at the next start, and that is logged.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix file modes; Windows has ACLs instead
public sealed class DataAtRestTests : AppTests
{
    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private SwitchboardProcess? _serve;

    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite);

    private string Fresh(string name) => Path.Combine(App.Store.Path, name, "data");

    private static void AssertMode(UnixFileMode expected, string path) =>
        Assert.True(File.GetUnixFileMode(path) == expected, $"{Path.GetFileName(path)} is {File.GetUnixFileMode(path)}, expected {expected}");

    /// <summary>serve on <paramref name="data"/>; a look at the login page makes it create its panel keys, sealed with fernet.key.</summary>
    private async Task ServeUntilKeyFile(string data)
    {
        _serve = await App.StartServeAsync("--data", data);
        using var client = new HttpClient { BaseAddress = _serve.Address, Timeout = TimeSpan.FromSeconds(10) };
        (await client.GetAsync("/admin/login")).EnsureSuccessStatusCode();
        await Wait.Until(() => File.Exists(Path.Combine(data, "fernet.key")), Timeout, "serve to make fernet.key");
    }

    [Fact]
    public async Task AFreshServeCreatesItsFolderDatabaseAndKeyFileForTheOwnerOnly()
    {
        var data = Fresh("serve");
        await ServeUntilKeyFile(data);

        AssertMode(Folder, data);
        AssertMode(Folder, Path.GetDirectoryName(data)!); // a missing parent too
        foreach (var file in new[] { "switchboard.db", "switchboard.db-wal", "switchboard.db-shm", "fernet.key" })
        {
            AssertMode(File600, Path.Combine(data, file));
        }
        Assert.False(_serve!.Logged("readable by other users"));
    }

    [Fact]
    public async Task AFreshCliRunCreatesThemForTheOwnerOnlyToo()
    {
        var data = Fresh("cli");
        var (exit, _, error) = await Infrastructure.Cli.RunArgs("users", "create", "carol", "--data", data);
        Assert.True(exit == 0, error);
        Assert.NotNull(BootstrapConfig.Embedded(data).Keys(create: true));

        AssertMode(Folder, data);
        AssertMode(File600, Path.Combine(data, "switchboard.db"));
        AssertMode(File600, Path.Combine(data, "fernet.key"));
    }

    [Fact]
    public async Task FilesLeftReadableByOthersAreNarrowedAtStartAndLogged()
    {
        var data = Fresh("old");
        var (exit, _, error) = await Infrastructure.Cli.RunArgs("users", "create", "carol", "--data", data);
        Assert.True(exit == 0, error);
        BootstrapConfig.Embedded(data).Keys(create: true);
        var wide = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var db = Path.Combine(data, "switchboard.db");
        var key = Path.Combine(data, "fernet.key");
        File.SetUnixFileMode(db, wide);
        File.SetUnixFileMode(key, wide);

        await ServeUntilKeyFile(data);

        AssertMode(File600, db);
        AssertMode(File600, key);
        AssertMode(File600, db + "-wal");
        foreach (var file in new[] { db, key })
        {
            Assert.Single(_serve!.Logs, e => e["Message"]?.GetValue<string>() is { } m && m.Contains(file, StringComparison.Ordinal) && m.Contains("readable by other users", StringComparison.Ordinal));
        }
    }
}
