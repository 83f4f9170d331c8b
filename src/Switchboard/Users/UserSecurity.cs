using System.Data.Common;
using System.Security.Cryptography;

namespace Switchboard.Users;

/// <summary>What a login needs of a user: its hash, whether it may use the panel, and its stamp.</summary>
public sealed record LoginRecord(string Id, string Name, bool IsAdmin, bool Disabled, string? PasswordHash, string Stamp);

/// <summary>What a panel session is checked against on every request (see <c>PanelSessions</c>).</summary>
public sealed record SecurityState(bool IsAdmin, bool Disabled, string Stamp);

/// <summary>A refused change of a user's security state; <see cref="Code"/> is the problem's code.</summary>
public sealed class UserSecurityException(int status, string code, string message) : ArgumentException(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;
}

/// <summary>
/// A user's security state: password, admin rights and disabled, for the CLI and the admin API
/// alike (one copy of the rules). Each change that takes access away (a new password, admin
/// rights removed, disabled) gives the user a new security stamp, which ends its panel sessions
/// on every process within seconds, and bumps <c>auth_version</c>, which makes every process drop
/// its cached API keys. A change that would leave no enabled admin is refused: the panel and the
/// admin API would then be out of reach until an operator used the CLI.
/// </summary>
public static class UserSecurity
{
    public static string NewStamp() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static LoginRecord? ForLogin(DbConnection connection, string name)
    {
        using var command = connection.Sql(
            "SELECT id, name, is_admin, disabled_at, password_hash, security_stamp FROM users WHERE name = @n", ("@n", name));
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new LoginRecord(reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0, !reader.IsDBNull(3), reader.StringOrNull(4), reader.GetString(5))
            : null;
    }

    public static SecurityState? State(DbConnection connection, string userId)
    {
        using var command = connection.Sql("SELECT is_admin, disabled_at, security_stamp FROM users WHERE id = @id", ("@id", userId));
        using var reader = command.ExecuteReader();
        return reader.Read() ? new SecurityState(reader.GetInt64(0) != 0, !reader.IsDBNull(1), reader.GetString(2)) : null;
    }

    /// <summary>What is wrong with a new password (the same rule as <see cref="UserStore.CheckNew"/>), or null.</summary>
    public static string? CheckPassword(string password) =>
        password.Length < UserStore.MinPasswordLength ? $"password must be at least {UserStore.MinPasswordLength} characters" : null;

    public static UserInfo SetPassword(DbConnection connection, string name, string password)
    {
        if (CheckPassword(password) is { } problem)
        {
            throw new UserSecurityException(400, "invalid_password", problem);
        }
        var user = Require(connection, name);
        connection.Execute("UPDATE users SET password_hash = @h, security_stamp = @s WHERE id = @id",
            ("@h", PasswordHashes.Hash(password)), ("@s", NewStamp()), ("@id", user.Id));
        return user;
    }

    /// <summary>Stores a stronger hash of the same password, unless the password changed meanwhile.</summary>
    public static void Rehash(DbConnection connection, string userId, string oldHash, string newHash) =>
        connection.Execute("UPDATE users SET password_hash = @new WHERE id = @id AND password_hash = @old",
            ("@new", newHash), ("@id", userId), ("@old", oldHash));

    public static UserInfo SetAdmin(DbConnection connection, string name, bool admin)
    {
        var user = Require(connection, name);
        if (!admin && user.IsAdmin)
        {
            KeepAnAdmin(connection, user, "remove the admin rights of");
        }
        if (admin != user.IsAdmin)
        {
            // Granting needs no new stamp: nothing is taken away.
            connection.Execute(
                $"UPDATE users SET is_admin = @a{(admin ? "" : ", security_stamp = @s")} WHERE id = @id",
                ("@a", admin ? 1 : 0), ("@s", NewStamp()), ("@id", user.Id));
            Meta.Bump(connection, Meta.AuthVersion);
        }
        return user with { IsAdmin = admin };
    }

    public static UserInfo SetDisabled(DbConnection connection, string name, bool disabled)
    {
        var user = Require(connection, name);
        if (disabled && user.IsAdmin)
        {
            KeepAnAdmin(connection, user, "disable");
        }
        var changed = disabled
            ? connection.Execute("UPDATE users SET disabled_at = @now, security_stamp = @s WHERE id = @id AND disabled_at IS NULL",
                ("@now", Clock.NowMs()), ("@s", NewStamp()), ("@id", user.Id))
            : connection.Execute("UPDATE users SET disabled_at = NULL WHERE id = @id AND disabled_at IS NOT NULL", ("@id", user.Id));
        if (changed > 0)
        {
            Meta.Bump(connection, Meta.AuthVersion);
        }
        return user;
    }

    /// <summary>A user's security state as the CLI prints it and the admin API answers.</summary>
    public static JsonObject ToJson(DbConnection connection, UserInfo user)
    {
        var state = State(connection, user.Id);
        return new JsonObject { ["name"] = user.Name, ["is_admin"] = state?.IsAdmin, ["disabled"] = state?.Disabled };
    }

    private static UserInfo Require(DbConnection connection, string name) =>
        UserStore.Find(connection, name) ?? throw new UserSecurityException(404, "user_not_found", $"no user named '{name}'");

    private static void KeepAnAdmin(DbConnection connection, UserInfo user, string what)
    {
        // The bump first: its row lock, held to the commit, queues every such change in the
        // deployment behind this one, so two admins removed at once on PostgreSQL cannot each
        // count the other as the one left (the count below is a statement of its own, and sees
        // what the change before it committed). A refusal rolls the bump back with the unit.
        Meta.Bump(connection, Meta.AuthVersion);
        var others = connection.Scalar<long>(
            "SELECT COUNT(*) FROM users WHERE is_admin = 1 AND disabled_at IS NULL AND id <> @id", ("@id", user.Id));
        if (others == 0)
        {
            throw new UserSecurityException(409, "last_admin",
                $"cannot {what} '{user.Name}': it is the last enabled admin (grant admin to another user first)");
        }
    }
}
