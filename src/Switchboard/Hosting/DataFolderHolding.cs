using Switchboard.Config;
using Switchboard.Recon;
using Switchboard.Storage;

namespace Switchboard.Hosting;

/// <summary>Which servers lock the folder of their SQLite store, and what the lock lets them do.</summary>
public static class DataFolderHolding
{
    /// <summary>
    /// Takes the lock now, before anything touches the store (a second server on the folder
    /// stops here, naming the holder), and keeps it for the host's life. The embedded default
    /// (SQLite, in-process queue) holds it exclusively and takes back its dead predecessor's
    /// jobs at start; call this after <c>AddSwitchboardCore</c> (the schema is ready first) and
    /// before <c>AddExecutor</c> (nothing is claimed before the takeback). A SQLite store shared
    /// through Redis is held shared: leases decide there. PostgreSQL has no folder to hold.
    /// </summary>
    /// <param name="urls">Where this server listens, written into the holder file; null without HTTP.</param>
    public static IServiceCollection AddDataFolderLock(this IServiceCollection services, BootstrapConfig bootstrap, Role role, string? urls)
    {
        if (bootstrap.Source != StoreKind.Sqlite)
        {
            return services;
        }
        var exclusive = bootstrap.RedisUri is null;
        var folder = Path.GetDirectoryName(Path.GetFullPath(bootstrap.SqlitePath))!;
        var holder = role.ToString().ToLowerInvariant() + (urls is null ? "" : " on " + urls);
        // Registered as an instance: the container keeps it reachable (a collected FileStream
        // would drop the lock) and leaves it open until the process ends, which releases it.
        services.AddSingleton(DataFolderLock.Acquire(folder, exclusive, holder));
        if (exclusive)
        {
            services.AddHostedService<PreviousInstanceTakeback>();
        }
        return services;
    }
}
