using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using System.Data.Common;
using Switchboard.Storage;

namespace Switchboard.Users;

public sealed record UserInfo(string Id, string Name, bool IsAdmin, long Credits);

/// <summary>One ledger row; <see cref="Actor"/> is who made a grant or adjustment (null for charges and refunds).</summary>
public sealed record LedgerEntry(long Id, string Kind, long Amount, string? RequestId, int? Run, string? Note, long CreatedAt, string? Actor);

/// <summary>Users, their API keys and their credits; every write runs inside a writer unit.</summary>
public static class UserStore
{
    private static readonly PasswordHasher<string> Passwords = new();

    public static UserInfo? Find(DbConnection connection, string nameOrId)
    {
        using var command = connection.Sql("SELECT id, name, is_admin, credits FROM users WHERE name = @n OR id = @n", ("@n", nameOrId));
        using var reader = command.ExecuteReader();
        return reader.Read() ? new UserInfo(reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0, reader.GetInt64(3)) : null;
    }

    /// <summary>The user whose password this is, or null (no such user, no password set, or a wrong one).</summary>
    public static UserInfo? CheckPassword(DbConnection connection, string name, string password)
    {
        using var command = connection.Sql("SELECT id, name, is_admin, credits, password_hash FROM users WHERE name = @n", ("@n", name));
        using var reader = command.ExecuteReader();
        if (!reader.Read() || reader.StringOrNull(4) is not { } hash)
        {
            return null;
        }
        var user = new UserInfo(reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0, reader.GetInt64(3));
        return Passwords.VerifyHashedPassword(user.Name, hash, password) == PasswordVerificationResult.Failed ? null : user;
    }

    public static long Count(DbConnection connection)
    {
        using var command = connection.Sql("SELECT COUNT(*) FROM users");
        return Convert.ToInt64(command.ExecuteScalar());
    }

    public static UserInfo Create(DbConnection connection, string name, bool admin, long credits, string? password, string? actor = null)
    {
        if (Find(connection, name) is not null)
        {
            throw new ArgumentException($"a user named '{name}' exists already");
        }
        var id = "u_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        connection.Execute(
            "INSERT INTO users (id, name, is_admin, password_hash, credits, created_at) VALUES (@id, @name, @admin, @pw, 0, @now)",
            ("@id", id), ("@name", name), ("@admin", admin ? 1 : 0),
            ("@pw", password is null ? null : Passwords.HashPassword(name, password)), ("@now", Clock.NowMs()));
        if (credits > 0)
        {
            Grant(connection, id, credits, "initial credits", actor);
        }
        return new UserInfo(id, name, admin, credits);
    }

    /// <summary>Creates a key; the clear key is returned once and never stored.</summary>
    public static string CreateKey(DbConnection connection, string userId)
    {
        var (key, prefix, hash) = ApiKeys.Generate();
        connection.Execute(
            "INSERT INTO api_keys (prefix, key_hash, user_id, created_at) VALUES (@p, @h, @u, @now)",
            ("@p", prefix), ("@h", hash), ("@u", userId), ("@now", Clock.NowMs()));
        Meta.Bump(connection, Meta.AuthVersion);
        return key;
    }

    public static int RevokeKey(DbConnection connection, string prefix)
    {
        // A whole key may be pasted: only its prefix part is the key's name.
        var name = prefix.Length > 11 ? prefix[..11] : prefix;
        var revoked = connection.Execute(
            "UPDATE api_keys SET revoked_at = @now WHERE prefix = @p AND revoked_at IS NULL", ("@p", name), ("@now", Clock.NowMs()));
        Meta.Bump(connection, Meta.AuthVersion);
        return revoked;
    }

    /// <summary>A grant of initial credits; operators' grants and adjustments go through <see cref="Credits.CreditMoves"/>.</summary>
    public static LedgerEntry Grant(DbConnection connection, string userId, long amount, string? note, string? actor = null) =>
        Credits.CreditMoves.Move(connection, userId, Credits.CreditMoves.Grant, amount, note, actor);

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
