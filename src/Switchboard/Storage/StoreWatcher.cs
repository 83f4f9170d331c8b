using Microsoft.Extensions.Options;
using Switchboard.Catalog;
using Switchboard.Hosting;
using Switchboard.Users;

namespace Switchboard.Storage;

/// <summary>
/// Polls the store's change counters so that edits made by another process (the management
/// CLI, another replica) reach this process's caches within one poll interval.
/// </summary>
public sealed class StoreWatcher(Database database, CatalogCache catalog, ApiKeyCache keys, IOptions<SwitchboardOptions> options, ILogger<StoreWatcher> logger) : BackgroundService
{
    private long _catalogVersion = -1;
    private long _authVersion = -1;

    public void Refresh()
    {
        using var connection = database.Open();
        var catalogVersion = connection.Scalar<long>("SELECT value FROM meta WHERE key = 'catalog_version'");
        var authVersion = connection.Scalar<long>("SELECT value FROM meta WHERE key = 'auth_version'");
        if (catalogVersion != _catalogVersion)
        {
            catalog.Current = CatalogStore.Load(connection);
            _catalogVersion = catalogVersion;
            logger.LogInformation("Catalog version {Version} loaded: {Offers} offers", catalogVersion, catalog.Current.Offers.Count);
        }
        if (authVersion != _authVersion)
        {
            keys.Clear();
            _authVersion = authVersion;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.StorePollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                Refresh();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Store poll failed; caches keep their last state");
            }
        }
    }
}
