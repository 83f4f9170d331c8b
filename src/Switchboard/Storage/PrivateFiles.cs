namespace Switchboard.Storage;

/// <summary>
/// Data at rest that only the process's owner may read: the SQLite database (and its -wal and
/// -shm, which SQLite creates with the main file's mode), its folder and the key file. New ones
/// are created private (folder 0700, files 0600); existing files open to group or others are
/// narrowed, and the caller logs what was narrowed. An existing folder is reported, not
/// changed: it may be one the operator shares on purpose (<c>--data .</c>). No-ops on Windows,
/// whose ACLs inherit from the folder.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode Others =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates <paramref name="folder"/> and its missing parents as 0700 (Directory.CreateDirectory gives the mode to the last one only).</summary>
    public static void CreateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
            return;
        }
        var full = Path.GetFullPath(folder);
        if (Directory.Exists(full))
        {
            return;
        }
        if (Path.GetDirectoryName(full) is { } parent)
        {
            CreateFolder(parent);
        }
        Directory.CreateDirectory(full, FolderMode);
    }

    /// <summary>Creates <paramref name="file"/> empty as 0600 when missing (another process may win the race: then theirs stays).</summary>
    public static void CreateFile(string file)
    {
        if (File.Exists(file))
        {
            return;
        }
        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }
        try
        {
            using var created = new FileStream(file, options);
        }
        catch (IOException) when (File.Exists(file))
        {
            // Created by another process meanwhile.
        }
    }

    /// <summary>Narrows to 0600 those of <paramref name="files"/> that exist and are open to group or others; returns them.</summary>
    public static IReadOnlyList<string> Narrow(params string[] files)
    {
        var narrowed = new List<string>();
        if (OperatingSystem.IsWindows())
        {
            return narrowed;
        }
        foreach (var file in files)
        {
            if (File.Exists(file) && (File.GetUnixFileMode(file) & Others) != 0)
            {
                File.SetUnixFileMode(file, File.GetUnixFileMode(file) & ~Others);
                narrowed.Add(file);
            }
        }
        return narrowed;
    }

    /// <summary>Whether an existing folder is open to group or others (reported at start, not changed).</summary>
    public static bool IsOpenToOthers(string folder) =>
        !OperatingSystem.IsWindows() && Directory.Exists(folder) && (File.GetUnixFileMode(folder) & Others) != 0;

    /// <summary>
    /// At a server's start: narrows the key file like the store's files, and logs (once, as a
    /// warning) each file that was narrowed and a store folder left open to others.
    /// </summary>
    public static void ReportAtStart(Store store, string? keyFile, ILogger logger)
    {
        var narrowed = new List<string>(keyFile is null ? [] : Narrow(keyFile));
        if (store is SqliteStore sqlite)
        {
            narrowed.AddRange(sqlite.Narrowed);
            if (sqlite.FolderOpenToOthers)
            {
                logger.LogWarning("The store's folder {Folder} is readable by other users; consider chmod 700", Path.GetDirectoryName(sqlite.FilePath));
            }
        }
        foreach (var file in narrowed)
        {
            logger.LogWarning("{File} was readable by other users: narrowed to owner-only (0600)", file);
        }
    }
}
