using System.Data.Common;

namespace Switchboard.Lifecycle;

/// <summary>
/// One unit of work of the lifecycle, made only when a consumer is attached to what it may
/// change: the connection its transitions and their in-unit handlers share, the transitions to
/// hand to observers after the commit, and the work handlers asked to run after it.
/// </summary>
public sealed class LifecycleUnit(RequestLifecycle lifecycle)
{
    private List<(string Kind, Transition Transition)>? _committed;
    private List<Func<Task>>? _after;

    public RequestLifecycle Lifecycle { get; } = lifecycle;

    /// <summary>The unit's connection, inside its transaction.</summary>
    public DbConnection Connection { get; private set; } = null!;

    /// <summary>
    /// Work to run once the unit has committed, in the order asked (a deal's step: its results to
    /// the job data store, then the next step's message). Nothing runs when the unit rolls back.
    /// </summary>
    public void AfterCommit(Func<Task> work) => (_after ??= []).Add(work);

    /// <summary>
    /// Starts (or starts again) the unit on its connection: the writer may run a unit a second
    /// time after a rollback (PostgreSQL re-runs a failed group's units alone), and only what the
    /// committed run did may be published.
    /// </summary>
    internal LifecycleUnit Begin(DbConnection connection)
    {
        Connection = connection;
        _committed?.Clear();
        _after?.Clear();
        return this;
    }

    internal void Observe(string kind, in Transition transition) => (_committed ??= []).Add((kind, transition));

    /// <summary>After the commit: observers see each transition once, then the handlers' work runs.</summary>
    internal async Task PublishAsync()
    {
        if (_committed is not null)
        {
            foreach (var (kind, transition) in _committed)
            {
                Lifecycle.Notify(kind, transition);
            }
        }
        if (_after is not null)
        {
            foreach (var work in _after)
            {
                await work();
            }
        }
    }
}
