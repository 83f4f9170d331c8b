using Switchboard.Config;
using Switchboard.Lifecycle;
using Switchboard.Storage;

namespace Switchboard.Live;

/// <summary>
/// Carries a committed change to every process's <see cref="ChangeHub"/>. Called after the
/// commit, on the caller's path: it must not block or throw (a change it cannot carry is a
/// follower that reads its request later, never a wrong answer).
/// </summary>
public interface IChangePublisher
{
    void Publish(in RequestChange change);
}

/// <summary>The embedded deployment's feed: one process, so a change goes straight to its hub.</summary>
public sealed class LocalChangePublisher(ChangeHub hub) : IChangePublisher
{
    public void Publish(in RequestChange change) => hub.Deliver(change);
}

/// <summary>
/// The lifecycle's change point feeding the change feed: every committed status change of every
/// kind of row, and a step's change as a change of its deal too.
/// </summary>
public sealed class StatusChangePublisher(IChangePublisher publisher) : ITransitionObserver
{
    public string? Kind => null;

    public string? State => null;

    public void Committed(in Transition transition)
    {
        publisher.Publish(new RequestChange(transition.RequestId, ChangeKind.Status));
        if (transition.Deal is { } deal)
        {
            publisher.Publish(new RequestChange(deal, ChangeKind.Status));
        }
    }
}

public static class LiveFeedRegistration
{
    /// <summary>
    /// The change feed (every role: every role commits changes) and this process's hub of
    /// followers: Redis pub/sub with <c>redis.uri</c>, else PostgreSQL NOTIFY on a PostgreSQL
    /// store (several processes may share it), else the one process's hub.
    /// </summary>
    public static IServiceCollection AddChangeFeed(this IServiceCollection services, BootstrapConfig bootstrap)
    {
        services.AddSingleton<ChangeHub>();
        if (bootstrap.RedisUri is not null)
        {
            AddDistributed<RedisChangeFeed>(services);
        }
        else if (bootstrap.Source == StoreKind.Postgres)
        {
            AddDistributed<PostgresChangeFeed>(services);
        }
        else
        {
            services.AddSingleton<IChangePublisher, LocalChangePublisher>();
        }
        services.AddSingleton<ITransitionObserver, StatusChangePublisher>();
        return services;
    }

    private static void AddDistributed<TFeed>(IServiceCollection services)
        where TFeed : DistributedChangeFeed
    {
        services.AddSingleton<TFeed>();
        services.AddSingleton<IChangePublisher>(sp => sp.GetRequiredService<TFeed>());
        services.AddHostedService(sp => sp.GetRequiredService<TFeed>());
    }
}
