using System.Globalization;

namespace Switchboard.Storage;

/// <summary>
/// A server's hold on the folder of its SQLite store, for the server's whole life: an OS lock
/// (<c>flock</c> on Linux and macOS, a share mode on Windows) on <c>switchboard.lock</c> in the
/// folder. The kernel drops it when the process ends, however it ends (kill -9 included), so a
/// lock never outlives its holder and there is no stale-pid logic.
/// <para>
/// Exclusive: the embedded server (SQLite, in-process queue), the only process that may run that
/// store's jobs; holding it proves that every <c>running</c> row at start belongs to a dead
/// instance. Shared: processes on a SQLite store that meet through Redis; any number of them,
/// but never beside an exclusive holder. Management commands take no lock: they run beside a server
/// (<c>restore</c> alone takes it exclusive, to replace the database: <see cref="StoreRestore"/>).
/// </para>
/// <para>
/// A lock held by another process cannot be read (reading takes a shared lock too), so the
/// holder names itself in a second file, <c>switchboard.holder</c>, rewritten by each new holder.
/// </para>
/// </summary>
public sealed class DataFolderLock : IDisposable
{
    public const string LockFileName = "switchboard.lock";

    public const string HolderFileName = "switchboard.holder";

    // Open for the lock's life: closing it (or the process ending) releases the lock.
    private FileStream? _held;

    public string Folder { get; private init; } = "";

    /// <summary>Whether this process is the folder's only server (the embedded default).</summary>
    public bool Exclusive { get; private init; }

    /// <summary>
    /// Takes the lock on <paramref name="folder"/> (created 0700 when missing), or throws
    /// <see cref="DataFolderInUseException"/> naming the holder. <paramref name="holder"/> says
    /// what this process is (its role and URL); the pid, host and start time are added.
    /// </summary>
    public static DataFolderLock Acquire(string folder, bool exclusive, string holder)
    {
        folder = Path.GetFullPath(folder);
        PrivateFiles.CreateFolder(folder);
        var path = Path.Combine(folder, LockFileName);
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            // .NET maps these to flock(LOCK_EX | LOCK_NB) and flock(LOCK_SH | LOCK_NB) on Unix.
            Share = exclusive ? FileShare.None : FileShare.ReadWrite,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFiles.FileMode;
        }
        FileStream held;
        try
        {
            held = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new DataFolderInUseException(folder, ReadHolder(folder));
        }
        PrivateFiles.Narrow(path);
        var mode = exclusive ? "exclusive" : "shared";
        WriteHolder(folder, $"""
            pid: {Environment.ProcessId}
            host: {Environment.MachineName}
            started: {DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}
            server: {holder}
            lock: {mode}

            """);
        return new DataFolderLock { _held = held, Folder = folder, Exclusive = exclusive };
    }

    /// <summary>The holder file's lines as one phrase, or why there is none.</summary>
    private static string ReadHolder(string folder)
    {
        try
        {
            var fields = File.ReadAllLines(Path.Combine(folder, HolderFileName))
                .Select(l => l.Split(':', 2))
                .Where(p => p.Length == 2)
                .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
            string Field(string key) => fields.GetValueOrDefault(key) ?? "?";
            return $"pid {Field("pid")} on {Field("host")} ({Field("server")}, {Field("lock")} lock, started {Field("started")})";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"a process that did not name itself ({HolderFileName}: {ex.Message})";
        }
    }

    // Written beside the lock and moved into place, so a reader never sees half of it. Shared
    // holders overwrite each other's: any one of them is a correct answer to "who holds it".
    private static void WriteHolder(string folder, string text)
    {
        var path = Path.Combine(folder, HolderFileName);
        var temporary = $"{path}.{Environment.ProcessId}";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFiles.FileMode;
        }
        using (var writer = new StreamWriter(temporary, new System.Text.UTF8Encoding(false), options))
        {
            writer.Write(text);
        }
        File.Move(temporary, path, overwrite: true);
    }

    public void Dispose() => _held?.Dispose();
}

/// <summary>
/// Another server holds the data folder. An argument error (exit 1, the message on stderr):
/// the folder given cannot be used while that server runs.
/// </summary>
public sealed class DataFolderInUseException(string folder, string holder)
    : ArgumentException($"the data folder {folder} is in use by another Switchboard server: {holder}. " +
        "Stop that server first, or give this one another folder (--data, or sqlite.path in --config)");
