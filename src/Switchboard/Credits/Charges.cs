using System.Data.Common;
using Switchboard.Users;

namespace Switchboard.Credits;

public sealed class InsufficientCreditsException(long balance, long price)
    : Exception($"the price is {price} credits and the balance is {balance}")
{
    public long Balance { get; } = balance;

    public long Price { get; } = price;
}

/// <summary>
/// Charges and refunds of one run of one request. Each writes a ledger row keyed by
/// (request, run, kind, step; step only on a deal's refunds): the unique index makes a second charge or refund fail the whole unit,
/// so callers can retry or be redelivered freely. Run both inside the unit that changes the
/// request's status, so money and state move together.
/// </summary>
public static class Charges
{
    public static void Charge(DbConnection connection, string userId, string requestId, int run, long price)
    {
        if (price <= 0)
        {
            return;
        }
        // One statement: the balance check and the debit cannot be split by another writer.
        var debited = connection.Execute(
            "UPDATE users SET credits = credits - @p WHERE id = @u AND credits >= @p", ("@p", price), ("@u", userId));
        if (debited == 0)
        {
            throw new InsufficientCreditsException(connection.Scalar<long>("SELECT credits FROM users WHERE id = @u", ("@u", userId)), price);
        }
        UserStore.AddLedger(connection, userId, "charge", -price, requestId, run, null);
    }

    /// <param name="step">For a deal: the step whose share this is (each step is refunded at most once per run).</param>
    public static void Refund(DbConnection connection, string userId, string requestId, int run, long price, string note, int? step = null)
    {
        if (price <= 0)
        {
            return;
        }
        // The key's spend first: the same lock order as a purchase (key spend, then the payer's row).
        KeyCharges.GiveBack(connection, requestId, run, price);
        UserStore.AddLedger(connection, userId, "refund", price, requestId, run, note, step);
        connection.Execute("UPDATE users SET credits = credits + @p WHERE id = @u", ("@p", price), ("@u", userId));
    }
}
