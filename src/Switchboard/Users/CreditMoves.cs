using System.Data.Common;

namespace Switchboard.Users;

/// <summary>
/// An operator's credit move refused, with a stable code the CLI and the admin API both show:
/// <c>invalid_kind</c>, <c>invalid_amount</c>, <c>note_required</c>, <c>invalid_note</c>
/// (bad input: nothing was read or written), <c>user_not_found</c>, <c>insufficient_credits</c>.
/// </summary>
public sealed class CreditMoveException(string code, string message) : ArgumentException(message)
{
    public string Code { get; } = code;

    /// <summary>The input itself is wrong (as opposed to the user or their balance).</summary>
    public bool IsInputError => Code is not ("user_not_found" or "insufficient_credits");
}

/// <summary>What a grant or adjustment did: the user afterwards and the ledger row it wrote.</summary>
public sealed record CreditMove(UserInfo User, LedgerEntry Entry);

/// <summary>
/// Operators' credit moves, the one copy of their rules for the CLI (<c>credits grant|adjust</c>)
/// and the admin API (<c>POST /admin/api/users/{name}/credits</c>): a grant adds a positive
/// amount; an adjustment adds any non-zero amount, needs a note, and is refused when it would
/// take the balance below zero. Each writes its ledger row (with the actor) and moves the balance
/// in the caller's writer unit, so both happen or neither.
/// </summary>
public static class CreditMoves
{
    public const string Grant = "grant";
    public const string Adjust = "adjust";

    /// <summary>Largest amount one move may carry, so that no sum of moves nears a 64-bit overflow.</summary>
    public const long MaxAmount = 1_000_000_000_000;

    public const int MaxNoteLength = 1000;

    /// <summary>Checks the input alone (no store needed); throws <see cref="CreditMoveException"/>.</summary>
    public static void Validate(string? kind, long amount, string? note)
    {
        if (kind is not (Grant or Adjust))
        {
            throw new CreditMoveException("invalid_kind", "kind must be 'grant' or 'adjust'");
        }
        // Not Math.Abs: it throws on long.MinValue.
        if (amount is < -MaxAmount or > MaxAmount)
        {
            throw new CreditMoveException("invalid_amount", $"an amount is at most {MaxAmount} credits either way");
        }
        if (kind == Grant && amount <= 0)
        {
            throw new CreditMoveException("invalid_amount", "a grant must be a positive number of credits (use an adjustment to take credits away)");
        }
        if (kind == Adjust && amount == 0)
        {
            throw new CreditMoveException("invalid_amount", "an adjustment must be a non-zero number of credits");
        }
        if (note is { Length: > MaxNoteLength })
        {
            throw new CreditMoveException("invalid_note", $"a note is at most {MaxNoteLength} characters");
        }
        if (kind == Adjust && string.IsNullOrWhiteSpace(note))
        {
            throw new CreditMoveException("note_required", "an adjustment needs a note saying why");
        }
    }

    /// <summary>
    /// Grants or adjusts the credits of the user named (or with the id) <paramref name="user"/>.
    /// Run it inside a writer unit; on any refusal it throws before writing anything.
    /// </summary>
    public static CreditMove Apply(DbConnection connection, string user, string kind, long amount, string? note, string? actor)
    {
        Validate(kind, amount, note);
        var found = UserStore.Find(connection, user) ?? throw new CreditMoveException("user_not_found", $"no user named '{user}'");
        var entry = Move(connection, found.Id, kind, amount, note, actor);
        return new CreditMove(UserStore.Find(connection, found.Id)!, entry);
    }

    /// <summary>The move itself, for a user id known to exist (<see cref="Apply"/> and a new user's initial credits).</summary>
    internal static LedgerEntry Move(DbConnection connection, string userId, string kind, long amount, string? note, string? actor)
    {
        Validate(kind, amount, note);
        // One statement checks and moves the balance, so no other writer can come in between;
        // the CHECK (credits >= 0) would refuse it too, but as an error that aborts a PostgreSQL transaction.
        var moved = connection.Execute(
            "UPDATE users SET credits = credits + @a WHERE id = @u AND credits + @a >= 0", ("@a", amount), ("@u", userId));
        if (moved == 0)
        {
            var balance = connection.Scalar<long?>("SELECT credits FROM users WHERE id = @u", ("@u", userId));
            throw balance is { } b
                ? new CreditMoveException("insufficient_credits", $"the balance is {b}; an adjustment of {amount} would make it {b + amount}, below zero")
                : new CreditMoveException("user_not_found", $"no user with id '{userId}'");
        }
        var now = Clock.NowMs();
        var id = connection.Scalar<long>(
            """
            INSERT INTO ledger (user_id, kind, amount, note, actor, created_at)
            VALUES (@u, @k, @a, @note, @actor, @now)
            RETURNING id
            """,
            ("@u", userId), ("@k", kind), ("@a", amount), ("@note", note), ("@actor", actor), ("@now", now));
        return new LedgerEntry(id, kind, amount, null, null, note, now, actor);
    }

    /// <summary>A ledger row as the CLI and the admin API show it.</summary>
    public static JsonObject ToJson(LedgerEntry e) => new()
    {
        ["id"] = e.Id,
        ["kind"] = e.Kind,
        ["amount"] = e.Amount,
        ["request_id"] = e.RequestId,
        ["run"] = e.Run,
        ["note"] = e.Note,
        ["actor"] = e.Actor,
        ["at"] = Clock.Iso(e.CreatedAt),
    };
}
