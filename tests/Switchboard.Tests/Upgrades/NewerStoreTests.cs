namespace Switchboard.Tests.Upgrades;

/// <summary>
/// An older build on a store a newer build migrated (a rolling upgrade, a rollback): it runs on
/// it as it is, saying so, since every step is additive; only a store whose newer step was marked
/// breaking (<c>meta.schema_compatible_from</c>) is refused, with what to do. The newer build is
/// played by a recorded step above <see cref="Migrations.Latest"/> and a column it added.
/// </summary>
public abstract class NewerStoreTests(StoreKind kind) : AppTests
{
    private static readonly int Newer = Migrations.Latest + 1;

    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    /// <summary>What the newer build's step left: its number recorded, and what it added.</summary>
    private void MigrateAsNewerBuild(bool breaking) => App.Store.Query(c =>
    {
        c.Execute("ALTER TABLE requests ADD COLUMN added_by_a_newer_build INTEGER NOT NULL DEFAULT 0");
        c.Execute("INSERT INTO schema_migrations (version, applied_at) VALUES (@v, 0)", ("@v", Newer));
        return breaking ? c.Execute("INSERT INTO meta (key, value) VALUES (@k, @v)", ("@k", MigrationRunner.CompatibleFrom), ("@v", (long)Newer)) : 0;
    });

    [Fact]
    public async Task AnOlderBuildRunsOnAStoreANewerBuildMigratedAndSaysSo()
    {
        MigrateAsNewerBuild(breaking: false);

        Assert.Equal(Newer, App.Store.Store.Migrate());
        var serve = await App.StartServeAsync();

        Assert.True(serve.Logged($"The store's schema version {Newer} is newer than this build's {Migrations.Latest}: running on it as it is"));
        var alice = await App.AddUserAsync("alice", 10);
        Assert.Equal(10, App.Balance(alice));
        // Nothing was applied again, nothing was undone.
        Assert.Equal(Newer, App.Query(c => c.Scalar<long>("SELECT MAX(version) FROM schema_migrations")));
    }

    [Fact]
    public void AStoreABreakingStepOfANewerBuildChangedIsRefused()
    {
        MigrateAsNewerBuild(breaking: true);

        var refused = Assert.Throws<InvalidOperationException>(() => App.Store.Store.Migrate());
        // The audit at the end opens the store as this build: the newer build is rolled back first.
        App.Store.Query(c => c.Execute("DELETE FROM meta WHERE key = @k", ("@k", MigrationRunner.CompatibleFrom)));

        Assert.Contains($"has schema version {Newer}, and its step {Newer} changed it in a way builds before it cannot run on; this build knows steps up to {Migrations.Latest}", refused.Message);
    }
}

public sealed class NewerStoreOnSqlite() : NewerStoreTests(StoreKind.Sqlite);

public sealed class NewerStoreOnPostgres() : NewerStoreTests(StoreKind.Postgres);
