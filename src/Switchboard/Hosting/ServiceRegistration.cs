using Microsoft.Extensions.Options;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Deals;
using Switchboard.Execution;
using Switchboard.Handlers;
using Switchboard.Lifecycle;
using Switchboard.Live;
using Switchboard.Outbound;
using Switchboard.Queue;
using Switchboard.Recon;
using Switchboard.Requests;
using Switchboard.Resources;
using Switchboard.Retention;
using Switchboard.Usage;
using Switchboard.Users;
using Switchboard.Webhooks;

namespace Switchboard.Hosting;

/// <summary>What each role adds to the container. A role is a set of hosted services.</summary>
public static class ServiceRegistration
{
    /// <summary>Settings, store, caches, queue, handlers and resource gate: what every role needs.</summary>
    public static IServiceCollection AddSwitchboardCore(this IServiceCollection services, BootstrapConfig bootstrap)
    {
        services.AddConfigs(bootstrap);
        services.AddSingleton(sp => bootstrap.OpenStore(sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Synchronous));
        // First hosted service: the schema is ready before anything else starts.
        services.AddHostedService<StoreInitializer>();
        // Second: app configs, catalog and key caches are loaded (or the start fails, naming what
        // is missing), then followed.
        services.AddCatalog();
        services.AddUsers();
        services.AddSingleton<StoreWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreWatcher>());
        if (bootstrap.Source == StoreKind.Sqlite)
        {
            services.AddHostedService(sp => new WalCheckpointer((SqliteStore)sp.GetRequiredService<Store>(), sp.GetRequiredService<ILogger<WalCheckpointer>>()));
        }
        services.AddSingleton<ExecutorIdentity>();
        // Which handlers live executors serve, as last read from their heartbeats (waiting_for: "executor").
        services.AddSingleton<ExecutorCoverage>();
        services.AddSingleton<InFlightJobs>();
        // Every role writes requests: the lifecycle, with what features attach to it.
        services.AddLifecycle();
        services.AddDealSteps();
        services.AddSingleton<ITransitionObserver, CancelledJobStopper>();
        // A cancelled job leaves its resource's lane at once (its user's turn goes to its next job).
        services.AddSingleton<CancelledLaneLeaver>();
        services.AddSingleton<ITransitionObserver>(sp => sp.GetRequiredService<CancelledLaneLeaver>());
        services.AddHostedService(sp => sp.GetRequiredService<CancelledLaneLeaver>());
        // Every committed change pushed to this process's followers (and, distributed, to every api process's).
        services.AddChangeFeed(bootstrap);
        // Completion webhooks' outbox: written in the unit of each final transition, whoever makes it.
        services.AddWebhookOutbox();
        if (bootstrap.RedisUri is null)
        {
            // serve --handlers: the other handlers' jobs wait (there is no second process to run them).
            services.AddSingleton<IJobQueue>(sp =>
            {
                var options = sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value;
                return new InProcessJobQueue(sp.GetService<ServedHandlers>()?.Patterns, options.Fair, options.PriorityAgeStep);
            });
        }
        else
        {
            services.AddSwitchboardRedis(bootstrap.RedisUri, bootstrap.RedisPrefix).AddRedisJobQueue();
        }
        services.AddHandlers(bootstrap.Plugins);
        services.AddSingleton<ResourceNeeds>();
        services.AddSingleton<GateHealth>();
        // GET /admin/api/health, in every role that serves HTTP.
        services.AddSingleton<HealthProbe>();
        // Bulk retry and cancel of requests: the panel's Requests page and /admin/api/requests/retry, /cancel.
        services.AddSingleton<RequestActions>();
        // Lanes in the fair order (Switchboard:Fair, :PriorityAgeStep).
        if (bootstrap.RedisUri is null)
        {
            services.AddSingleton<IResourceGate>(sp => new InProcessResourceGate(
                (InProcessJobQueue)sp.GetRequiredService<IJobQueue>(),
                sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Fair,
                sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.PriorityAgeStep));
        }
        else
        {
            services.AddSingleton<IResourceGate>(sp => new RedisResourceGate(
                sp.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>(),
                sp.GetRequiredService<RedisSettings>(),
                sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Fair,
                sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.PriorityAgeStep));
        }
        return services;
    }

    /// <summary>
    /// The executor role: usage counting, its credentials, the job runner with the deal steps'
    /// data, the resource waker, the worker pool, lease renewal and (distributed) its heartbeat.
    /// Execution's and Deals' own registrations belong here, in that order.
    /// </summary>
    public static IServiceCollection AddExecutor(this IServiceCollection services, BootstrapConfig bootstrap)
    {
        // First: stopped last, so its final flush has the attempts that end during shutdown.
        services.AddUsage();
        // The credentials only this executor can see (its environment): checked at start and per svc_handlers change.
        services.AddSingleton<ExecutorCredentials>();
        // Which handlers' queues it reads (--handlers); a malformed pattern stops the start.
        services.AddSingleton(sp => ServedHandlers.For(
            sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Handlers, sp.GetRequiredService<HandlerRegistry>().Ids));
        services.AddJobRunner();
        services.AddSingleton<HeldSlots>();
        services.AddSingleton<ResourceWaker>();
        services.AddSingleton<ResourceSlots>();
        services.AddHostedService(sp => sp.GetRequiredService<ResourceWaker>());
        services.AddHostedService<ExecutorService>();
        services.AddHostedService<LeaseRenewer>();
        // A cancel committed by another process stops the job here at once (the change feed).
        services.AddHostedService<FeedCancelFollower>();
        if (bootstrap.RedisUri is not null)
        {
            services.AddExecutorHeartbeat();
        }
        return services;
    }

    public static IServiceCollection AddRecon(this IServiceCollection services, BootstrapConfig bootstrap, TimeSpan reconLease)
    {
        services.AddSingleton<IReconLeadership, SoleLeader>();
        services.AddSingleton<ReconRepairs>();
        services.AddSingleton<ReconService>();
        services.AddHostedService(sp => sp.GetRequiredService<ReconService>());
        services.AddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        // The watch and its alerts: their own loop and sender, so neither delays a repair.
        services.AddSingleton(sp => new DiscordNotifier(
            () => sp.GetRequiredService<AppConfigs>().Recon, sp.GetRequiredService<ILogger<DiscordNotifier>>(), sp.GetRequiredService<IOptions<OutboundOptions>>().Value));
        services.AddHostedService(sp => sp.GetRequiredService<DiscordNotifier>());
        services.AddSingleton<AlertEngine>();
        services.AddSingleton<HealthWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthWatch>());
        if (bootstrap.RedisUri is not null)
        {
            // Several recon processes may run; the lease (a key in Redis) picks the active one.
            services.AddRedisReconLease(reconLease);
        }
        return services;
    }
}

/// <summary>Applies migrations before any other hosted service starts.</summary>
public sealed class StoreInitializer(Store store, BootstrapConfig bootstrap, ILogger<StoreInitializer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        PrivateFiles.ReportAtStart(store, bootstrap.KeyFile, logger);
        var found = store.Migrate();
        if (found > Migrations.Latest)
        {
            // A rolling upgrade (or a rollback): a newer build migrated the store. Its steps were
            // additive (a breaking one would have stopped Migrate), so this build runs on it.
            logger.LogWarning(
                "The store's schema version {Found} is newer than this build's {Latest}: running on it as it is (a newer build migrated it; its steps are additive). Upgrade this process to match",
                found, Migrations.Latest);
        }
        logger.LogInformation("Store ready: {Kind} at {Where}", store.Kind, store.Description);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
