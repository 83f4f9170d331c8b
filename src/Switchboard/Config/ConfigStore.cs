using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Config;

/// <summary>One stored version of an app config. <see cref="Content"/> is the YAML as pushed, with tokens for <c>~</c> values.</summary>
public sealed record ConfigVersion(
    string Id, string Version, string Content, string Hash, string Author, string? Comment, long CreatedAt, bool Active, long Seq);

/// <summary>A version made active: by a push (<c>push</c>) or a rollback or roll forward (<c>rollback</c>), by whom, replacing which.</summary>
public sealed record ConfigActivation(string Id, string Version, string? Previous, string Action, string Actor, long At);

/// <summary>
/// App configs in the store (SPEC.md §6): every version of every id kept forever, one version
/// per id active. The table's name comes from the bootstrap (<c>meta.collection</c>). Every
/// write first bumps the <c>config_version</c> counter in <c>meta</c>: that row lock orders
/// concurrent pushes (so "next version" and "version exists" are decided on committed data),
/// and the new count tells the other processes to reload.
/// </summary>
public sealed partial class ConfigStore
{
    public const string DefaultTable = "configs";

    private readonly Store _store;
    private readonly string _table;
    private bool _ready;

    public ConfigStore(Store store, string table)
    {
        _store = store;
        _table = CheckTable(table);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}\\z")]
    private static partial Regex TableName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\z")]
    private static partial Regex VersionText();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.-]{0,99}\\z")]
    private static partial Regex IdText();

    public static string CheckTable(string name) => TableName().IsMatch(name)
        ? name
        : throw new ConfigException($"'meta.collection' is '{name}'; it must be a table name (letters, digits, _; at most 63)");

    public static bool IsVersion(string version) => VersionText().IsMatch(version);

    public static string CheckVersion(string version) => IsVersion(version)
        ? version
        : throw new ConfigException($"'{version}' is not a version (letters, digits, '.', '_', '-'; such as 1.0)");

    public static string CheckId(string id) => IdText().IsMatch(id)
        ? id
        : throw new ConfigException($"'{id}' is not a config id (letters, digits, '_', '.', '-'; such as svc_handlers)");

    /// <summary>Creates the table on first use (under an advisory lock on PostgreSQL, where concurrent CREATE IF NOT EXISTS can collide).</summary>
    public void EnsureTable()
    {
        if (_ready)
        {
            return;
        }
        var postgres = _store.Kind == StoreKind.Postgres;
        _store.Write(c =>
        {
            if (postgres)
            {
                c.Execute("SELECT pg_advisory_xact_lock(8207)");
            }
            SqlExtensions.Exec(c, $"""
                CREATE TABLE IF NOT EXISTS {_table} (
                    seq {(postgres ? "BIGINT GENERATED ALWAYS AS IDENTITY" : "INTEGER")} PRIMARY KEY,
                    config_id TEXT NOT NULL,
                    version TEXT NOT NULL,
                    content TEXT NOT NULL,
                    content_hash TEXT NOT NULL,
                    author TEXT NOT NULL,
                    comment TEXT,
                    created_at BIGINT NOT NULL,
                    active INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (config_id, version));
                CREATE UNIQUE INDEX IF NOT EXISTS {_table}_active ON {_table} (config_id) WHERE active = 1;
                """);
            return 0;
        });
        _ready = true;
    }

    public static string HashOf(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    /// <summary>
    /// Stores a new version (the next one after the highest when <paramref name="version"/> is
    /// null) and, with <paramref name="activate"/>, makes it the active one. A version that
    /// exists is refused: versions are never rewritten by a push.
    /// </summary>
    public ConfigVersion Push(string id, string? version, string content, string author, string? comment, bool activate = true)
    {
        CheckId(id);
        if (version is not null)
        {
            CheckVersion(version);
        }
        EnsureTable();
        return _store.Write(c =>
        {
            Meta.Bump(c, Meta.ConfigVersion);
            var existing = Versions(c, id);
            var chosen = version ?? NextVersion(existing);
            if (existing.Contains(chosen))
            {
                throw new ConfigException($"config {id} version {chosen} exists; versions are kept as they were pushed (push another version)");
            }
            if (activate)
            {
                MakeActive(c, id, chosen, "push", author, insert: true);
            }
            c.Execute($"""
                INSERT INTO {_table} (config_id, version, content, content_hash, author, comment, created_at, active)
                VALUES (@id, @version, @content, @hash, @author, @comment, @now, @active)
                """,
                ("@id", id), ("@version", chosen), ("@content", content), ("@hash", HashOf(content)),
                ("@author", author), ("@comment", comment), ("@now", Clock.NowMs()), ("@active", activate ? 1 : 0));
            return Read(c, id, chosen)!;
        });
    }

    /// <summary>
    /// Makes <paramref name="version"/> the active one (rollback, or forward again), recorded
    /// with <paramref name="actor"/>. Returns false when there is no such version.
    /// </summary>
    public bool Activate(string id, string version, string actor)
    {
        EnsureTable();
        return _store.Write(c =>
        {
            Meta.Bump(c, Meta.ConfigVersion);
            if (Read(c, id, version) is null)
            {
                return false;
            }
            MakeActive(c, id, version, "rollback", actor, insert: false);
            return true;
        });
    }

    /// <summary>
    /// Inside a write: the active version of <paramref name="id"/> steps down and
    /// <paramref name="version"/> takes its place (unless <paramref name="insert"/>: the caller
    /// inserts it active), and the change is recorded in <c>config_activations</c>.
    /// </summary>
    private void MakeActive(DbConnection c, string id, string version, string action, string actor, bool insert)
    {
        var previous = Active(c, id)?.Version;
        c.Execute($"UPDATE {_table} SET active = 0 WHERE config_id = @id AND active = 1", ("@id", id));
        if (!insert)
        {
            c.Execute($"UPDATE {_table} SET active = 1 WHERE config_id = @id AND version = @version", ("@id", id), ("@version", version));
        }
        c.Execute(
            """
            INSERT INTO config_activations (collection, config_id, version, previous, action, actor, at)
            VALUES (@collection, @id, @version, @previous, @action, @actor, @now)
            """,
            ("@collection", _table), ("@id", id), ("@version", version), ("@previous", previous), ("@action", action), ("@actor", actor), ("@now", Clock.NowMs()));
    }

    /// <summary>The activations of <paramref name="id"/>, newest first, <paramref name="limit"/> at most.</summary>
    public IReadOnlyList<ConfigActivation> History(string id, int limit)
    {
        using var connection = _store.Open();
        using var command = connection.Sql(
            """
            SELECT version, previous, action, actor, at FROM config_activations
            WHERE collection = @collection AND config_id = @id ORDER BY seq DESC LIMIT @limit
            """,
            ("@collection", _table), ("@id", id), ("@limit", limit));
        using var reader = command.ExecuteReader();
        var list = new List<ConfigActivation>();
        while (reader.Read())
        {
            list.Add(new ConfigActivation(id, reader.GetString(0), reader.StringOrNull(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)));
        }
        return list;
    }

    /// <summary>Rewrites the content of every stored version in one transaction (key rotation); all or nothing.</summary>
    public int RewriteAll(Func<ConfigVersion, string> rewrite)
    {
        EnsureTable();
        return _store.Write(c =>
        {
            Meta.Bump(c, Meta.ConfigVersion);
            var all = List(c, null);
            var changed = 0;
            foreach (var config in all)
            {
                var content = rewrite(config);
                if (content != config.Content)
                {
                    c.Execute($"UPDATE {_table} SET content = @content, content_hash = @hash WHERE seq = @seq",
                        ("@content", content), ("@hash", HashOf(content)), ("@seq", config.Seq));
                    changed++;
                }
            }
            return changed;
        });
    }

    /// <summary>The given version, or the active one when <paramref name="version"/> is null.</summary>
    public ConfigVersion? Get(string id, string? version)
    {
        EnsureTable();
        using var connection = _store.Open();
        return version is null ? Active(connection, id) : Read(connection, id, version);
    }

    public IReadOnlyList<ConfigVersion> List(string? id)
    {
        EnsureTable();
        using var connection = _store.Open();
        return List(connection, id);
    }

    /// <summary>The change counter: it moves on every push, activation and rotation.</summary>
    public long ChangeCount()
    {
        using var connection = _store.Open();
        return Meta.Read(connection, Meta.ConfigVersion);
    }

    private const string Columns = "config_id, version, content, content_hash, author, comment, created_at, active, seq";

    private List<ConfigVersion> List(DbConnection c, string? id)
    {
        using var command = id is null
            ? c.Sql($"SELECT {Columns} FROM {_table} ORDER BY config_id, seq")
            : c.Sql($"SELECT {Columns} FROM {_table} WHERE config_id = @id ORDER BY seq", ("@id", id));
        return ReadAll(command);
    }

    private ConfigVersion? Read(DbConnection c, string id, string version)
    {
        using var command = c.Sql($"SELECT {Columns} FROM {_table} WHERE config_id = @id AND version = @version", ("@id", id), ("@version", version));
        return ReadAll(command).SingleOrDefault();
    }

    private ConfigVersion? Active(DbConnection c, string id)
    {
        using var command = c.Sql($"SELECT {Columns} FROM {_table} WHERE config_id = @id AND active = 1", ("@id", id));
        return ReadAll(command).SingleOrDefault();
    }

    private HashSet<string> Versions(DbConnection c, string id)
    {
        using var command = c.Sql($"SELECT version FROM {_table} WHERE config_id = @id", ("@id", id));
        using var reader = command.ExecuteReader();
        var versions = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            versions.Add(reader.GetString(0));
        }
        return versions;
    }

    private static List<ConfigVersion> ReadAll(DbCommand command)
    {
        using var reader = command.ExecuteReader();
        var list = new List<ConfigVersion>();
        while (reader.Read())
        {
            list.Add(new ConfigVersion(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.StringOrNull(5), reader.GetInt64(6), reader.GetInt64(7) == 1, reader.GetInt64(8)));
        }
        return list;
    }

    /// <summary>
    /// The version after the highest: 1.0 → 1.1, 3 → 4; 1.0 when there is none. Versions that
    /// are not dotted numbers cannot be counted on: then the push must name its version.
    /// </summary>
    public static string NextVersion(IReadOnlyCollection<string> existing)
    {
        if (existing.Count == 0)
        {
            return "1.0";
        }
        var numbered = existing.Select(v => (Text: v, Parts: Parts(v))).Where(v => v.Parts is not null).ToList();
        if (numbered.Count == 0)
        {
            throw new ConfigException("the existing versions are not numbers: give --version");
        }
        var highest = numbered.Aggregate((a, b) => Compare(a.Parts!, b.Parts!) >= 0 ? a : b).Parts!;
        highest[^1]++;
        return string.Join('.', highest.Select(p => p.ToString(CultureInfo.InvariantCulture)));
    }

    private static long[]? Parts(string version)
    {
        var parts = version.Split('.');
        var numbers = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return null;
            }
        }
        return numbers;
    }

    private static int Compare(long[] a, long[] b)
    {
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : 0;
            var y = i < b.Length ? b[i] : 0;
            if (x != y)
            {
                return x.CompareTo(y);
            }
        }
        return 0;
    }
}
