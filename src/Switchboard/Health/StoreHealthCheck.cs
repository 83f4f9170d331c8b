using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Switchboard.Health;

/// <summary>
/// The store answers: one read of <c>schema_migrations</c> through our own <see cref="Store"/>.
/// Ours rather than <c>AspNetCore.HealthChecks.NpgSql</c>: one check covers SQLite and PostgreSQL,
/// and it goes through the same connections (pool, write connection, Npgsql settings) that the
/// requests use, so it fails exactly when they would. The description names the store kind and
/// the error's type, never the connection string or its message (which may name the host and user).
/// </summary>
public sealed class StoreHealthCheck(Store store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        try
        {
            var migrations = await Task.Run(() =>
            {
                using var connection = store.Open();
                return connection.Scalar<long>("SELECT COUNT(*) FROM schema_migrations");
            }, cancellationToken).WaitAsync(cancellationToken);
            return HealthCheckResult.Healthy($"{store.Kind} answers ({migrations} migrations applied)");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Any failure, not only DbException: the framework would otherwise publish the
            // exception's message, which may name the host and user. A timeout (cancellation) is
            // reported by the framework as "A timeout occurred while running check.".
            return new HealthCheckResult(context.Registration.FailureStatus, $"{store.Kind} cannot be reached ({ex.GetType().Name})");
        }
    }
}
