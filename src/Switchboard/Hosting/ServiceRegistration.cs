using Microsoft.Extensions.Options;
using Switchboard.Catalog;
using Switchboard.Execution;
using Switchboard.Handlers;
using Switchboard.Queue;
using Switchboard.Recon;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Hosting;

/// <summary>What each role adds to the container. A role is a set of hosted services.</summary>
public static class ServiceRegistration
{
    /// <summary>Store, queue, caches and handlers: what every role needs.</summary>
    public static IServiceCollection AddSwitchboardCore(this IServiceCollection services)
    {
        services.AddOptions<SwitchboardOptions>()
            .BindConfiguration(SwitchboardOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.RetryBaseDelay > TimeSpan.Zero && o.RetryMaxDelay >= o.RetryBaseDelay, "Switchboard:RetryBaseDelay must be > 0 and <= Switchboard:RetryMaxDelay")
            .Validate(o => o.StorePollInterval > TimeSpan.Zero && o.ReconInterval > TimeSpan.Zero, "Switchboard:StorePollInterval and Switchboard:ReconInterval must be > 0")
            .ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value;
            return new Database(options.DataDir, options.Synchronous);
        });
        services.AddSingleton<SqliteWriter>();
        services.AddSingleton<IJobQueue, InProcessJobQueue>();
        services.AddSingleton<CatalogCache>();
        services.AddSingleton<ApiKeyCache>();
        services.AddHandlers();
        // First hosted service: the schema and the caches are ready before anything else starts.
        services.AddHostedService<StoreInitializer>();
        services.AddSingleton<StoreWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreWatcher>());
        services.AddHostedService<WalCheckpointer>();
        return services;
    }

    public static IServiceCollection AddHandlers(this IServiceCollection services)
    {
        services.AddHttpClient(OpenAiChatHandler.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton<IServiceHandler, EchoRenderHandler>();
        services.AddSingleton<IServiceHandler, OpenAiChatHandler>();
        services.AddSingleton<HandlerRegistry>();
        return services;
    }

    public static IServiceCollection AddExecutor(this IServiceCollection services)
    {
        services.AddSingleton<ExecutorIdentity>();
        services.AddSingleton<InFlightJobs>();
        services.AddSingleton<JobRunner>();
        services.AddHostedService<ExecutorService>();
        services.AddHostedService<LeaseRenewer>();
        return services;
    }

    public static IServiceCollection AddRecon(this IServiceCollection services)
    {
        services.AddSingleton<IReconLeadership, SoleLeader>();
        services.AddSingleton<ReconService>();
        services.AddHostedService(sp => sp.GetRequiredService<ReconService>());
        return services;
    }
}

/// <summary>Applies migrations and loads the caches before any other hosted service starts.</summary>
public sealed class StoreInitializer(Database database, StoreWatcher watcher, ILogger<StoreInitializer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Migrations.Apply(database);
        watcher.Refresh();
        logger.LogInformation("Store ready at {Path} (schema {Version})", database.FilePath, Migrations.Latest);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
