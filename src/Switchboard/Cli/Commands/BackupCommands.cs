using System.CommandLine;
using System.Diagnostics;
using Switchboard.Config;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>backup FILE</c> and <c>restore FILE</c>: the embedded SQLite store copied while servers run
/// (<see cref="StoreBackup"/>) and put back into a stopped data folder (<see cref="StoreRestore"/>).
/// A PostgreSQL store is PostgreSQL's to back up (pg_dump): both commands say so and touch nothing.
/// Each prints one JSON line and is recorded in the audit trail (a backup copies every secret of
/// the store: who made one is worth knowing).
/// </summary>
public static class BackupCommands
{
    private const string PostgresAdvice =
        "back up PostgreSQL with pg_dump -Fc and restore with pg_restore --clean --if-exists --single-transaction " +
        "(docs/operations.md, \"Backup and restore\")";

    public static Command Backup(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "Where to write the backup (a new file; 0600)" };
        var force = new Option<bool>("--force") { Description = "Replace the file if it exists" };
        var config = Shared.Config();
        var data = Shared.Data();
        var command = new Command("backup", "Copies the embedded store, online (servers keep running), into one checked file") { file, force, config, data };
        command.SetAction(async (parse, _) =>
        {
            var bootstrap = BootstrapConfig.Resolve(parse.GetValue(config), parse.GetValue(data)!);
            if (bootstrap.Source == StoreKind.Postgres)
            {
                throw new BackupException($"backup copies the embedded SQLite store; this config's store is PostgreSQL: {PostgresAdvice}");
            }
            var watch = Stopwatch.StartNew();
            var target = Path.GetFullPath(parse.GetValue(file)!);
            var facts = StoreBackup.Backup(bootstrap.SqlitePath, target, parse.GetValue(force));
            context.Output.WriteLine(new JsonObject
            {
                ["path"] = target,
                ["bytes"] = facts.Bytes,
                ["schema_version"] = facts.SchemaVersion,
                ["requests"] = facts.Requests,
                ["ledger_rows"] = facts.LedgerRows,
                ["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 3),
            }.ToJsonString());
            // Recorded after the copy, so the backup does not hold its own record.
            await using var store = new SqliteStore(bootstrap.SqlitePath);
            return CliAudit.Record(parse, store, new HashSet<Option> { config, data }, context.Error);
        });
        return command;
    }

    public static Command Restore(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "A backup made by switchboard backup" };
        var config = Shared.Config();
        var data = Shared.Data();
        var command = new Command("restore", "Replaces the embedded store by a backup (no server may run on the folder; the previous database is kept)") { file, config, data };
        command.SetAction(async (parse, _) =>
        {
            var bootstrap = BootstrapConfig.Resolve(parse.GetValue(config), parse.GetValue(data)!);
            if (bootstrap.Source == StoreKind.Postgres)
            {
                throw new BackupException($"restore replaces the embedded SQLite store; this config's store is PostgreSQL: {PostgresAdvice}");
            }
            var watch = Stopwatch.StartNew();
            var backup = Path.GetFullPath(parse.GetValue(file)!);
            var report = StoreRestore.Restore(bootstrap.SqlitePath, backup, DateTimeOffset.UtcNow);
            context.Output.WriteLine(new JsonObject
            {
                ["path"] = Path.GetFullPath(bootstrap.SqlitePath),
                ["from"] = backup,
                ["bytes"] = report.Backup.Bytes,
                ["schema_version"] = report.Backup.SchemaVersion,
                ["migrated_to"] = report.MigratedTo,
                ["requests"] = report.Backup.Requests,
                ["ledger_rows"] = report.Backup.LedgerRows,
                ["previous"] = report.Previous,
                ["seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 3),
            }.ToJsonString());
            if (bootstrap.FernetKeys.Count == 0 && bootstrap.KeyFile is { } keyFile && !File.Exists(keyFile))
            {
                // The key is not in the backup (docs/operations.md says why): a server started
                // now would make a new one, which opens none of the restored sealed secrets.
                context.Error.WriteLine($"switchboard: note: there is no {keyFile}. If the backed-up store had sealed secrets (~ values of app configs, webhook secrets, the panel's keys), copy the fernet.key of the folder it came from here before starting a server.");
            }
            // Recorded in the restored store: its trail says from which file it came back.
            await using var store = new SqliteStore(bootstrap.SqlitePath);
            return CliAudit.Record(parse, store, new HashSet<Option> { config, data }, context.Error);
        });
        return command;
    }
}
