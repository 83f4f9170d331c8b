using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Switchboard.Execution;
using Switchboard.Handlers;
using Switchboard.Config;
using Switchboard.Queue;
using Switchboard.Recon;

namespace Switchboard.Hosting;

/// <summary>
/// Container registrations of the Redis parts of the distributed deployment. Each role picks
/// what it needs, after its own registrations (each helper replaces the embedded default it
/// stands in for):
/// <code>
/// services.AddSwitchboardRedis(bootstrap.RedisUri);   // every role
/// services.AddRedisJobQueue();                         // api, executor, recon
/// services.AddRedisReconLease();                       // recon, after AddRecon()
/// services.AddExecutorHeartbeat();                     // executor, after AddExecutor()
/// </code>
/// </summary>
public static class RedisRegistration
{
    /// <summary>Default lease of the recon leader key: how long recon may be leaderless after the leader dies.</summary>
    public static readonly TimeSpan DefaultReconLease = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Registers <see cref="RedisSettings"/> and one shared <see cref="IConnectionMultiplexer"/>.
    /// The URI is parsed here, so a bad one fails at startup (<see cref="ArgumentException"/>,
    /// password never in the message). The multiplexer is created on first use and does not
    /// fail when Redis is down: it keeps connecting in the background, and connection failures
    /// and recoveries are logged (without the password).
    /// </summary>
    /// <param name="redisUri">The bootstrap's <c>redis.uri</c>: <c>redis://[user:password@]host:port[/db]</c>, <c>rediss://…</c> or a configuration string.</param>
    /// <param name="keyPrefix">Prefix (and cluster hash tag) of every key; deployments sharing a Redis use different ones.</param>
    public static IServiceCollection AddSwitchboardRedis(this IServiceCollection services, string redisUri, string keyPrefix = RedisSettings.DefaultKeyPrefix)
    {
        var settings = RedisSettings.Parse(redisUri, keyPrefix);
        services.AddSingleton(settings);
        services.AddSingleton(new Users.KeyRateRedis(key => settings.Key("keyrate:" + key)));
        services.AddSingleton<IConnectionMultiplexer>(sp => Connect(settings, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Switchboard.Redis")));
        return services;
    }

    /// <summary>
    /// Makes <see cref="RedisJobQueue"/> the <see cref="IJobQueue"/> (replacing the in-process one).
    /// Needs <see cref="AddSwitchboardRedis"/>.
    /// </summary>
    /// <param name="consumer">
    /// This process's consumer name; by default the executor's owner id (<see cref="ExecutorIdentity"/>)
    /// when registered, else a fresh host:pid:random (processes that never read need none).
    /// </param>
    /// <param name="reclaimAfter">Idle time after which a delivered entry is given to another executor; by default the job lease (<c>LeaseSeconds</c>).</param>
    /// <param name="configure">Tuning; the defaults suit production.</param>
    public static IServiceCollection AddRedisJobQueue(
        this IServiceCollection services,
        Func<IServiceProvider, string>? consumer = null,
        Func<IServiceProvider, TimeSpan>? reclaimAfter = null,
        Action<RedisJobQueueOptions>? configure = null)
    {
        services.RemoveAll<IJobQueue>();
        services.AddSingleton(sp =>
        {
            var switchboard = sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value;
            var options = new RedisJobQueueOptions { Fair = switchboard.Fair, AgeStep = switchboard.PriorityAgeStep };
            configure?.Invoke(options);
            return new RedisJobQueue(
                sp.GetRequiredService<IConnectionMultiplexer>(),
                sp.GetRequiredService<RedisSettings>(),
                consumer?.Invoke(sp) ?? sp.GetService<ExecutorIdentity>()?.Owner ?? NewProcessId(),
                reclaimAfter?.Invoke(sp) ?? TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.LeaseSeconds),
                sp.GetRequiredService<ILogger<RedisJobQueue>>(),
                options,
                sp.GetService<ServedHandlers>()?.Ids);
        });
        services.AddSingleton<IJobQueue>(sp => sp.GetRequiredService<RedisJobQueue>());
        services.AddHostedService<ConnectAtStart>();
        return services;
    }

    /// <summary>
    /// Makes <see cref="RedisReconLease"/> the <see cref="IReconLeadership"/> (replacing
    /// <see cref="SoleLeader"/>) and runs it as a hosted service. Call after <c>AddRecon()</c>.
    /// </summary>
    /// <param name="lease">TTL of the leader key; <see cref="DefaultReconLease"/> when null.</param>
    public static IServiceCollection AddRedisReconLease(this IServiceCollection services, TimeSpan? lease = null)
    {
        services.RemoveAll<IReconLeadership>();
        services.AddSingleton(sp => new RedisReconLease(
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<RedisSettings>(),
            lease ?? DefaultReconLease,
            sp.GetRequiredService<ILogger<RedisReconLease>>()));
        services.AddSingleton<IReconLeadership>(sp => sp.GetRequiredService<RedisReconLease>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisReconLease>());
        return services;
    }

    /// <summary>
    /// Runs <see cref="ExecutorHeartbeat"/>. By default it describes the executor from the
    /// container (<see cref="ExecutorIdentity"/>, <see cref="HandlerRegistry"/>,
    /// <c>Workers</c>, <see cref="InFlightJobs"/>), so call it after <c>AddExecutor()</c>; pass
    /// <paramref name="create"/> to describe it otherwise.
    /// </summary>
    /// <param name="interval">Time between beats; <see cref="ExecutorHeartbeat.DefaultInterval"/> when null.</param>
    /// <param name="create">Builds the heartbeat instead of the default description.</param>
    public static IServiceCollection AddExecutorHeartbeat(this IServiceCollection services, TimeSpan? interval = null, Func<IServiceProvider, ExecutorHeartbeat>? create = null)
    {
        services.AddSingleton(create ?? (sp =>
        {
            var inFlight = sp.GetRequiredService<InFlightJobs>();
            return new ExecutorHeartbeat(
                sp.GetRequiredService<IConnectionMultiplexer>(),
                sp.GetRequiredService<RedisSettings>(),
                sp.GetRequiredService<ExecutorIdentity>().Owner,
                sp.GetService<ServedHandlers>()?.Ids ?? sp.GetRequiredService<HandlerRegistry>().Ids,
                sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Workers,
                () => inFlight.Snapshot.Count,
                interval ?? ExecutorHeartbeat.DefaultInterval,
                sp.GetRequiredService<ILogger<ExecutorHeartbeat>>(),
                sp.GetService<ExecutorCredentials>() is { } credentials ? () => credentials.Missing : null,
                sp.GetService<ServedHandlers>()?.Patterns.Patterns);
        }));
        services.AddHostedService(sp => sp.GetRequiredService<ExecutorHeartbeat>());
        return services;
    }

    /// <summary>The shared multiplexer; <c>AbortOnConnectFail</c> is off, so it returns (unconnected) when Redis is down and keeps trying.</summary>
    internal static IConnectionMultiplexer Connect(RedisSettings settings, ILogger logger)
    {
        RedisThreadPool.EnsureHeadroom();
        var connection = ConnectionMultiplexer.Connect(settings.Options.Clone());
        var lastFailureLog = 0L;
        connection.ConnectionFailed += (_, e) =>
        {
            // One line per endpoint outage is plenty; reconnect attempts fire this repeatedly.
            var now = Environment.TickCount64;
            var last = Interlocked.Read(ref lastFailureLog);
            if (last != 0 && now - last < 30_000)
            {
                return;
            }
            Interlocked.Exchange(ref lastFailureLog, now);
            logger.LogWarning("Redis connection to {Redis} failed ({Failure}): {Error}", settings.Description, e.FailureType, e.Exception?.Message);
        };
        connection.ConnectionRestored += (_, e) =>
        {
            if (Interlocked.Exchange(ref lastFailureLog, 0) != 0)
            {
                logger.LogInformation("Redis connection to {Redis} restored", settings.Description);
            }
        };
        if (connection.IsConnected)
        {
            logger.LogInformation("Connected to Redis at {Redis}", settings.Description);
        }
        else
        {
            logger.LogWarning("Redis at {Redis} is not reachable yet; connecting in the background", settings.Description);
        }
        return connection;
    }

    private static string NewProcessId() => $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>
    /// Connects to Redis while the host starts, before the API takes requests. Left to the
    /// first request, the connection was made under a burst of them: 64 first submissions
    /// waited up to 15 s and their messages were dropped until recon sent them again.
    /// </summary>
    private sealed class ConnectAtStart(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            Task.Run(() => services.GetRequiredService<IJobQueue>(), cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
