using System.Security.Cryptography;
using System.Data.Common;

namespace Switchboard.Users;

public sealed record UserInfo(string Id, string Name, bool IsAdmin, long Credits);

/// <summary>A user as listings show it: with when it was made and how many keys it can use.</summary>
public sealed record UserSummary(string Id, string Name, bool IsAdmin, long Credits, long CreatedAt, int ActiveKeys, long? DisabledAt = null);

/// <summary>An API key as listings show it: its prefix only (the key itself is never stored).</summary>
public sealed record KeyInfo(string Prefix, long CreatedAt, long? RevokedAt)
{
    /// <summary>The key's own name and limits (its plan's defaults are not in them).</summary>
    public KeySettings Settings { get; init; } = KeySettings.Unlimited;

    /// <summary>The key that created it through <c>/svc/me/keys</c>; null for one an admin made.</summary>
    public string? Parent { get; init; }

    public bool Expired(long now) => Settings.ExpiresAt is { } at && at <= now;

    public bool Active => RevokedAt is null;
}

/// <summary>A user of that name exists already (an <see cref="ArgumentException"/>, as the CLI reports it).</summary>
public sealed class UserExistsException(string name) : ArgumentException($"a user named '{name}' exists already");

/// <summary>One ledger row; <see cref="Actor"/> is who made a grant or adjustment (null for charges and refunds).</summary>
public sealed record LedgerEntry(long Id, string Kind, long Amount, string? RequestId, int? Run, string? Note, long CreatedAt, string? Actor);

/// <summary>Users, their API keys and their credits; every write runs inside a writer unit.</summary>
public static class UserStore
{
    public static UserInfo? Find(DbConnection connection, string nameOrId)
    {
        using var command = connection.Sql("SELECT id, name, is_admin, credits FROM users WHERE name = @n OR id = @n", ("@n", nameOrId));
        using var reader = command.ExecuteReader();
        return reader.Read() ? new UserInfo(reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0, reader.GetInt64(3)) : null;
    }

    public static long Count(DbConnection connection)
    {
        using var command = connection.Sql("SELECT COUNT(*) FROM users");
        return Convert.ToInt64(command.ExecuteScalar());
    }

    public const int MinPasswordLength = 8;

    /// <summary>
    /// What is wrong with a new user, the one check the admin API, the panel and <c>users create</c>
    /// run, each message led by the field it is about: a name by <see cref="UserNames"/>' rule,
    /// initial credits from 0 to <see cref="CreditMoves.MaxAmount"/>, and a password of
    /// at least <see cref="MinPasswordLength"/> characters, which an admin must have (it logs in
    /// to the panel with it). Empty when it can be created (unless the name is taken).
    /// </summary>
    /// <param name="adminNeedsPassword">
    /// False for <c>users create</c> only: the operator may make an admin that has only an API key
    /// (for the admin API from scripts; it cannot log in to the panel). A password given is checked all the same.
    /// </param>
    public static List<string> CheckNew(string name, bool admin, string? password, long credits, bool adminNeedsPassword = true)
    {
        var errors = new List<string>();
        if (UserNames.Problem(name) is { } nameProblem)
        {
            errors.Add(nameProblem);
        }
        if (credits < 0)
        {
            errors.Add("credits must be >= 0");
        }
        else if (credits > CreditMoves.MaxAmount)
        {
            errors.Add($"credits must be at most {CreditMoves.MaxAmount}");
        }
        if (string.IsNullOrEmpty(password))
        {
            if (admin && adminNeedsPassword)
            {
                errors.Add("password is required for an admin (admins log in to the panel with it)");
            }
        }
        else if (password.Length < MinPasswordLength)
        {
            errors.Add($"password must be at least {MinPasswordLength} characters");
        }
        return errors;
    }

    /// <summary>Every user, by name, with its count of active keys.</summary>
    public static List<UserSummary> List(DbConnection connection) => Summaries(connection, null);

    /// <summary>One user (by name or id) as listings show it, or null.</summary>
    public static UserSummary? Summary(DbConnection connection, string nameOrId) => Summaries(connection, nameOrId).FirstOrDefault();

    private static List<UserSummary> Summaries(DbConnection connection, string? nameOrId)
    {
        using var command = connection.Sql(
            $"""
            SELECT u.id, u.name, u.is_admin, u.credits, u.created_at, COALESCE(k.active, 0), u.disabled_at
            FROM users u
            LEFT JOIN (SELECT user_id, COUNT(*) AS active FROM api_keys WHERE revoked_at IS NULL GROUP BY user_id) k ON k.user_id = u.id
            {(nameOrId is null ? "" : "WHERE u.name = @n OR u.id = @n")}
            ORDER BY u.name
            """,
            nameOrId is null ? [] : [("@n", nameOrId)]);
        using var reader = command.ExecuteReader();
        var list = new List<UserSummary>();
        while (reader.Read())
        {
            list.Add(new UserSummary(reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0, reader.GetInt64(3), reader.GetInt64(4),
                Convert.ToInt32(reader.GetValue(5), System.Globalization.CultureInfo.InvariantCulture), reader.LongOrNull(6)));
        }
        return list;
    }

    /// <summary>The keys of a user, newest first, revoked ones included.</summary>
    public static List<KeyInfo> Keys(DbConnection connection, string userId)
    {
        using var command = connection.Sql(
            """
            SELECT prefix, created_at, revoked_at, name, scopes, rpm, max_concurrent, budget, budget_period, expires_at, parent
            FROM api_keys WHERE user_id = @u ORDER BY created_at DESC, prefix
            """, ("@u", userId));
        using var reader = command.ExecuteReader();
        var list = new List<KeyInfo>();
        while (reader.Read())
        {
            list.Add(new KeyInfo(reader.GetString(0), reader.GetInt64(1), reader.LongOrNull(2))
            {
                Settings = new KeySettings(
                    reader.StringOrNull(3),
                    reader.StringOrNull(4) is { } scopes ? System.Text.Json.JsonSerializer.Deserialize<string[]>(scopes) : null,
                    reader.IntOrNull(5), reader.IntOrNull(6), reader.LongOrNull(7), reader.StringOrNull(8), reader.LongOrNull(9)),
                Parent = reader.StringOrNull(10),
            });
        }
        return list;
    }

    /// <summary>The user a key (by prefix) belongs to, or null when there is no such key.</summary>
    public static UserInfo? OwnerOfKey(DbConnection connection, string prefix)
    {
        var userId = connection.Scalar<string?>("SELECT user_id FROM api_keys WHERE prefix = @p", ("@p", KeyName(prefix)));
        return userId is null ? null : Find(connection, userId);
    }

    /// <summary>A whole key may be pasted where a prefix is asked for: only its prefix part is the key's name.</summary>
    public static string KeyName(string prefix) => prefix.Length > 11 ? prefix[..11] : prefix;

    /// <summary>Whether another user (not <paramref name="exceptId"/>) has this name, ignoring ASCII case.</summary>
    private static bool Taken(DbConnection connection, string name, string? exceptId = null) =>
        connection.Scalar<long>("SELECT COUNT(*) FROM users WHERE (lower(name) = lower(@n) OR id = @n) AND id <> @x", ("@n", name), ("@x", exceptId ?? "")) > 0;

    public static UserInfo Create(DbConnection connection, string name, bool admin, long credits, string? password, string? actor = null)
    {
        if (Taken(connection, name))
        {
            throw new UserExistsException(name);
        }
        var id = "u_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        connection.Execute(
            "INSERT INTO users (id, name, is_admin, password_hash, credits, created_at, security_stamp) VALUES (@id, @name, @admin, @pw, 0, @now, @stamp)",
            ("@id", id), ("@name", name), ("@admin", admin ? 1 : 0),
            ("@pw", password is null ? null : PasswordHashes.Hash(password)), ("@now", Clock.NowMs()), ("@stamp", UserSecurity.NewStamp()));
        if (credits > 0)
        {
            Grant(connection, id, credits, "initial credits", actor);
        }
        return new UserInfo(id, name, admin, credits);
    }

    /// <summary>
    /// A new user and its first API key, as <c>users create</c>, the panel and
    /// <c>POST /admin/api/users</c> make it (run inside a writer unit). The key is returned once.
    /// </summary>
    public static (UserInfo User, string Key) CreateWithKey(DbConnection connection, string name, bool admin, long credits, string? password, string? actor)
    {
        var created = Create(connection, name, admin, credits, password, actor);
        return (created, CreateKey(connection, created.Id));
    }

    /// <summary>
    /// Renames the user <paramref name="nameOrId"/> (by name or id, so a stored name that breaks
    /// <see cref="UserNames"/>' rule, e.g. one holding '/', can still be addressed by its id) to
    /// <paramref name="newName"/>, which must follow the rule (<see cref="ArgumentException"/>
    /// otherwise). Returns the user as it was, or null when there is none. Keys, credits and the
    /// ledger follow the id, so they are unchanged; ledger rows keep the actor names they had.
    /// </summary>
    public static UserInfo? Rename(DbConnection connection, string nameOrId, string newName)
    {
        if (UserNames.Problem(newName) is { } problem)
        {
            throw new ArgumentException(problem);
        }
        if (Find(connection, nameOrId) is not { } user)
        {
            return null;
        }
        if (Taken(connection, newName, user.Id))
        {
            throw new UserExistsException(newName);
        }
        connection.Execute("UPDATE users SET name = @n WHERE id = @id", ("@n", newName), ("@id", user.Id));
        // Cached keys carry their user's name: reload them.
        Meta.Bump(connection, Meta.AuthVersion);
        return user;
    }

    /// <summary>Creates a key; the clear key is returned once and never stored.</summary>
    public static string CreateKey(DbConnection connection, string userId) => CreateKey(connection, userId, KeySettings.Unlimited, null);

    /// <summary>
    /// Creates a key with its name and limits (checked by the caller: <see cref="KeySettings.Problems"/>)
    /// and, for <c>/svc/me/keys</c>, the key that made it; the clear key is returned once.
    /// </summary>
    public static string CreateKey(DbConnection connection, string userId, KeySettings settings, string? parent)
    {
        var (key, prefix, hash) = ApiKeys.Generate();
        connection.Execute(
            """
            INSERT INTO api_keys (prefix, key_hash, user_id, created_at, name, scopes, rpm, max_concurrent, budget, budget_period, expires_at, parent)
            VALUES (@p, @h, @u, @now, @name, @scopes, @rpm, @max, @budget, @period, @expires, @parent)
            """,
            ("@p", prefix), ("@h", hash), ("@u", userId), ("@now", Clock.NowMs()), ("@name", settings.Name),
            ("@scopes", settings.Scopes is null ? null : System.Text.Json.JsonSerializer.Serialize(settings.Scopes)),
            ("@rpm", settings.Rpm), ("@max", settings.MaxConcurrent), ("@budget", settings.Budget),
            ("@period", settings.Budget is null ? null : settings.BudgetPeriod ?? KeyCharges.Total), ("@expires", settings.ExpiresAt),
            ("@parent", parent));
        Meta.Bump(connection, Meta.AuthVersion);
        return key;
    }

    /// <summary>
    /// Revokes the active key with this prefix and every key made under it (<c>/svc/me/keys</c>
    /// children, theirs…): a child never outlives the key that made it. Returns how many were
    /// revoked (0: no active key has the prefix).
    /// </summary>
    public static int RevokeKey(DbConnection connection, string prefix)
    {
        var name = KeyName(prefix);
        if (connection.Scalar<long>("SELECT COUNT(*) FROM api_keys WHERE prefix = @p AND revoked_at IS NULL", ("@p", name)) == 0)
        {
            return 0;
        }
        var revoked = connection.Execute(
            """
            WITH RECURSIVE family(prefix, depth) AS (
                SELECT CAST(@p AS TEXT), 0
                UNION ALL
                SELECT k.prefix, f.depth + 1 FROM api_keys k JOIN family f ON k.parent = f.prefix WHERE f.depth < 32)
            UPDATE api_keys SET revoked_at = @now WHERE prefix IN (SELECT prefix FROM family) AND revoked_at IS NULL
            """,
            ("@p", name), ("@now", Clock.NowMs()));
        Meta.Bump(connection, Meta.AuthVersion);
        return revoked;
    }

    /// <summary>A grant of initial credits; operators' grants and adjustments go through <see cref="CreditMoves"/>.</summary>
    public static LedgerEntry Grant(DbConnection connection, string userId, long amount, string? note, string? actor = null) =>
        CreditMoves.Move(connection, userId, CreditMoves.Grant, amount, note, actor);

    /// <summary>A charge's or refund's ledger row (see <see cref="Credits.Charges"/>; their actor stays null).</summary>
    /// <param name="step">A deal's refunds are per step: the step's place in the deal (null otherwise).</param>
    public static void AddLedger(DbConnection connection, string userId, string kind, long amount, string? requestId, int? run, string? note, int? step = null) =>
        connection.Execute(
            """
            INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, note, created_at, step)
            VALUES (@u, @k, @a, @r, (SELECT seq FROM requests WHERE id = @r), @run, @note, @now, @step)
            """,
            ("@u", userId), ("@k", kind), ("@a", amount), ("@r", requestId), ("@run", run), ("@note", note), ("@now", Clock.NowMs()), ("@step", step));

    public static List<LedgerEntry> Ledger(DbConnection connection, string userId, int limit = 1000)
    {
        using var command = connection.Sql(
            "SELECT id, kind, amount, request_id, run, note, created_at, actor FROM ledger WHERE user_id = @u ORDER BY id DESC LIMIT @l",
            ("@u", userId), ("@l", limit));
        using var reader = command.ExecuteReader();
        var list = new List<LedgerEntry>();
        while (reader.Read())
        {
            list.Add(new LedgerEntry(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.StringOrNull(3), reader.IntOrNull(4), reader.StringOrNull(5), reader.GetInt64(6), reader.StringOrNull(7)));
        }
        return list;
    }
}
