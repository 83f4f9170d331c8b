using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Switchboard.Storage;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Backup;

/// <summary>
/// Bad input to <c>backup</c> and <c>restore</c>: each is refused with exit 1 and a message that
/// says what is wrong, and nothing is replaced: the existing backup file, or the data folder's
/// database, is byte for byte what it was, and no temporary or set-aside file is left.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix file modes
public sealed class BackupRefusalTests
{
    [Fact]
    public async Task ABackupOverAnExistingFileIsRefusedWithoutForceAndReplacesItWithForce()
    {
        await using var store = await StoreWithAUser("alice");
        var file = Path.Combine(store.Path, "backup.db");
        await File.WriteAllTextAsync(file, "an older backup");

        var (exit, _, error) = await Infrastructure.Cli.Run(store, "backup", file);

        Assert.Equal(1, exit);
        Assert.Contains($"{file} exists: give --force", error);
        Assert.Equal("an older backup", await File.ReadAllTextAsync(file));
        Assert.Empty(Directory.GetFiles(store.Path, "backup.db.tmp-*"));

        var forced = await Infrastructure.Cli.Json(store, "backup", file, "--force");
        Assert.Equal(new FileInfo(file).Length, forced["bytes"]!.GetValue<long>());
        Assert.True(StoreBackup.HasSqliteHeader(file));
    }

    [Fact]
    public async Task ABackupIntoAFolderItCannotWriteIsRefused()
    {
        await using var store = await StoreWithAUser("alice");
        // Root writes into any mode 0500 folder; sysfs refuses file creation even to root.
        var folder = Environment.IsPrivilegedProcess ? "/sys" : Path.Combine(store.Path, "read-only");
        if (!Environment.IsPrivilegedProcess)
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
        var file = Path.Combine(folder, "backup.db");

        var (exit, _, error) = await Infrastructure.Cli.Run(store, "backup", file);

        Assert.Equal(1, exit);
        Assert.Contains($"cannot write the backup {file}", error);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task ABackupOfAFolderWithNoStoreIsRefusedAndCreatesNone()
    {
        await using var empty = TestStore.Create(StoreKind.Sqlite);
        var file = Path.Combine(empty.Path, "backup.db");

        var (exit, _, error) = await Infrastructure.Cli.Run(empty, "backup", file);

        Assert.Equal(1, exit);
        Assert.Contains("there is no store at", error);
        Assert.False(File.Exists(file));
        Assert.False(File.Exists(Path.Combine(empty.Path, "switchboard.db")));
    }

    [Fact]
    public async Task RestoringAFileThatIsNotSqliteIsRefused()
    {
        await using var target = await StoreWithAUser("bob");
        var file = Path.Combine(target.Path, "notes.db");
        await File.WriteAllTextAsync(file, "these are not the pages you are looking for");

        await AssertRefused(target, file, "is not a SQLite database (no SQLite header)");
    }

    [Fact]
    public async Task RestoringATruncatedBackupIsRefused()
    {
        await using var target = await StoreWithAUser("bob");
        var file = await BackupOf("alice", target.Path);
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(stream.Length / 2);
        }

        await AssertRefused(target, file, "is not a usable SQLite database");
    }

    [Fact]
    public async Task RestoringACorruptedBackupIsRefused()
    {
        await using var target = await StoreWithAUser("bob");
        var file = await BackupOf("alice", target.Path);
        // A damage every query reads past: the header's count of free pages (bytes 36-39, big
        // endian) says 5 where there are none. Only the integrity check walks the free list.
        await using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.Position = 36;
            await stream.WriteAsync(new byte[] { 0, 0, 0, 5 });
        }

        await AssertRefused(target, file, "fails SQLite's integrity check: *** in database main ***");
    }

    [Fact]
    public async Task RestoringABackupOfANewerSchemaIsRefused()
    {
        await using var target = await StoreWithAUser("bob");
        var file = await BackupOf("alice", target.Path);
        using (var connection = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            connection.Open();
            connection.Execute("INSERT INTO schema_migrations (version, applied_at) VALUES (@v, 0)", ("@v", Migrations.Latest + 1));
        }

        await AssertRefused(target, file, $"has schema version {Migrations.Latest + 1}, newer than this build's {Migrations.Latest}");
    }

    [Fact]
    public async Task RestoringWhileServeRunsIsRefusedNamingTheServer()
    {
        await using var target = await StoreWithAUser("bob");
        var file = await BackupOf("alice", target.Path);
        await using var serve = await SwitchboardProcess.Start(target);

        var (exit, _, error) = await Infrastructure.Cli.Run(target, "restore", file);

        Assert.Equal(1, exit);
        Assert.Contains("is in use by another Switchboard server", error);
        Assert.Contains($"pid {serve.Pid} ", error);
        Assert.Empty(SetAside(target.Path));
        Assert.Contains($"pid: {serve.Pid}", await File.ReadAllTextAsync(Path.Combine(target.Path, DataFolderLock.HolderFileName)));
        // The served store is still bob's.
        var (_, users, _) = await Infrastructure.Cli.Run(target, "users", "list");
        Assert.Contains("bob", users);
        Assert.DoesNotContain("alice", users);
    }

    [Fact]
    public async Task BackupAndRestoreOnPostgresPointToPgDump()
    {
        await using var store = TestStore.Create(StoreKind.Postgres);
        var file = Path.Combine(store.Path, "backup.db");

        var backup = await Infrastructure.Cli.Run(store, "backup", file);
        var restore = await Infrastructure.Cli.Run(store, "restore", file);

        Assert.Equal(1, backup.Exit);
        Assert.Contains("this config's store is PostgreSQL: back up PostgreSQL with pg_dump -Fc", backup.Err);
        Assert.Equal(1, restore.Exit);
        Assert.Contains("pg_restore --clean --if-exists --single-transaction", restore.Err);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task ARestoreKeepsThePreviousDatabaseWholeAndIsRecordedInTheRestoredTrail()
    {
        await using var target = await StoreWithAUser("bob");
        var file = await BackupOf("alice", target.Path);

        var restored = await Infrastructure.Cli.Json(target, "restore", file);

        var previous = restored["previous"]!.GetValue<string>();
        Assert.StartsWith(Path.Combine(target.Path, "switchboard.db" + StoreRestore.PreviousSuffix), previous);
        Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(Path.Combine(target.Path, "switchboard.db")));
        var (_, users, _) = await Infrastructure.Cli.Run(target, "users", "list");
        Assert.Contains("alice", users);
        Assert.DoesNotContain("bob", users);
        var (_, trail, _) = await Infrastructure.Cli.Run(target, "audit", "--action", "restore");
        Assert.Contains(file, trail);
        // The set-aside database opens with bob in it (its WAL moved with it).
        await using var before = new SqliteConnection($"Data Source={previous};Pooling=False");
        await before.OpenAsync();
        Assert.Equal(1, before.Scalar<long>("SELECT COUNT(*) FROM users WHERE name = 'bob'"));
    }

    private static async Task<TestStore> StoreWithAUser(string name)
    {
        var store = TestStore.Create(StoreKind.Sqlite);
        await Infrastructure.Cli.CreateUser(store, name, 10);
        return store;
    }

    /// <summary>A backup (in <paramref name="folder"/>) of a store of its own holding one user.</summary>
    private static async Task<string> BackupOf(string name, string folder)
    {
        await using var source = await StoreWithAUser(name);
        var file = Path.Combine(folder, $"backup-of-{name}.db");
        await Infrastructure.Cli.Json(source, "backup", file);
        return file;
    }

    /// <summary>Runs <c>restore FILE</c> on <paramref name="target"/>: refused, saying <paramref name="says"/>, the database untouched and nothing left beside it.</summary>
    private static async Task<string> AssertRefused(TestStore target, string file, string says)
    {
        var database = Path.Combine(target.Path, "switchboard.db");
        var before = Fingerprint(database);

        var (exit, output, error) = await Infrastructure.Cli.Run(target, "restore", file);

        Assert.True(exit == 1, $"restore exited {exit}: {output} {error}");
        Assert.Contains(says, error);
        Assert.Equal(before, Fingerprint(database));
        Assert.Empty(SetAside(target.Path));
        var (_, users, _) = await Infrastructure.Cli.Run(target, "users", "list");
        Assert.Contains("bob", users);
        return error;
    }

    /// <summary>Files named after the database with a suffix: a set-aside previous database, or a copy being restored.</summary>
    private static IEnumerable<string> SetAside(string folder) =>
        Directory.GetFiles(folder).Where(f => Path.GetFileName(f).StartsWith("switchboard.db.", StringComparison.Ordinal));

    private static string Fingerprint(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
}
