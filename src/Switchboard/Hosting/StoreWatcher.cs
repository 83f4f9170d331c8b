using Microsoft.Extensions.Options;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Users;

namespace Switchboard.Hosting;

/// <summary>
/// Polls the store's change counters so that edits made by another process (the management
/// CLI, another replica) reach this process's caches and app configs within one poll interval.
/// </summary>
public sealed class StoreWatcher(
    Store store, CatalogCache catalog, ApiKeyCache keys, AppConfigs configs, IOptions<SwitchboardOptions> options, ILogger<StoreWatcher> logger) : BackgroundService
{
    private long _catalogVersion = -1;
    private long _authVersion = -1;

    // One refresh at a time: a call made while the poll is halfway through (it has taken the new
    // config count but not yet swapped the configs) waits for it, so "refresh now" means done.
    private readonly Lock _refreshing = new();

    public void Refresh()
    {
        lock (_refreshing)
        {
            RefreshOnce();
        }
    }

    private void RefreshOnce()
    {
        using var connection = store.Open();
        var catalogVersion = Meta.Read(connection, Meta.CatalogVersion);
        var authVersion = Meta.Read(connection, Meta.AuthVersion);
        var configVersion = Meta.Read(connection, Meta.ConfigVersion);
        if (catalogVersion != _catalogVersion)
        {
            catalog.Current = CatalogStore.Load(connection);
            _catalogVersion = catalogVersion;
            logger.LogInformation("Catalog version {Version} loaded: {Offers} offers, {Deals} deals", catalogVersion, catalog.Current.Offers.Count, catalog.Current.Deals.Count);
        }
        if (authVersion != _authVersion)
        {
            keys.Clear();
            _authVersion = authVersion;
        }
        configs.Refresh(configVersion);
    }

    /// <summary>
    /// The app configs and the caches are loaded before any role starts; configs that are
    /// missing or wrong stop the start here, naming what is wrong.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        configs.LoadAtStart();
        Refresh();
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PollLoop.RunAsync(options.Value.StorePollInterval, Refresh,
            ex => logger.LogWarning(ex, "Store poll failed; caches keep their last state"), stoppingToken);
}
