using Npgsql;
using Switchboard.Storage;

namespace Switchboard.Live;

/// <summary>
/// The change feed through PostgreSQL <c>LISTEN/NOTIFY</c> (several processes on one PostgreSQL
/// store without Redis). A round's messages go out in one statement (<c>pg_notify</c> over an
/// array, outside any transaction, so at once); each process keeps one connection of the store's
/// pool to itself, <c>LISTEN</c>s on it and waits (<see cref="NpgsqlConnection.WaitAsync(CancellationToken)"/>).
/// A lost connection is opened again after a second; then every follower reads its row again,
/// since notifications sent meanwhile are lost for this process.
/// </summary>
public sealed class PostgresChangeFeed(Store store, ChangeHub hub, ILogger<PostgresChangeFeed> logger) : DistributedChangeFeed(hub, logger)
{
    /// <summary>The notification channel: one per store, so per deployment.</summary>
    public const string Channel = "switchboard_changes";

    /// <summary>A notification's payload must stay below 8,000 bytes.</summary>
    protected override int MaxMessageBytes => 7_800;

    protected override Task SendAsync(IReadOnlyList<string> messages, CancellationToken cancellationToken)
    {
        if (messages.Count > 0)
        {
            using var connection = store.Open();
            connection.Execute($"SELECT pg_notify('{Channel}', m) FROM unnest(@messages::text[]) AS m", ("@messages", messages.ToArray()));
        }
        return Task.CompletedTask;
    }

    protected override async Task ListenAsync(CancellationToken stoppingToken)
    {
        var lost = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = (NpgsqlConnection)store.Open();
                connection.Notification += (_, e) => Received(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }
                if (lost)
                {
                    logger.LogInformation("The change feed's PostgreSQL connection is back; followers read their requests again");
                    Resubscribed();
                    lost = false;
                }
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                if (!lost)
                {
                    logger.LogWarning("The change feed's PostgreSQL connection was lost: {Error}", ex.Message);
                }
                lost = true;
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
