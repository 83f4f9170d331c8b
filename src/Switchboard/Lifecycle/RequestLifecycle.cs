using System.Data.Common;
using Switchboard.Storage;

namespace Switchboard.Lifecycle;

/// <summary>
/// The request's state machine: every write to <c>requests</c> is one of its named transitions
/// (the partial files <c>RequestLifecycle.*.cs</c>; the table is in docs/architecture.md), and
/// every change of a row's status passes <see cref="Changed"/>, the one change point (a lease's
/// renewal changes no status and does not). There consumers attach:
/// <see cref="IStateHandler"/>s inside the transition's unit of work (a deal's progression;
/// later, outbox rows) and <see cref="ITransitionObserver"/>s after its commit (stopping a
/// cancelled job here; later, pushed status). Consumers are looked up per (kind, status): a
/// transition nobody is attached to runs exactly its statement, in the same kind of writer unit
/// as before (one statement without a savepoint, or one batched statement on PostgreSQL), and
/// builds nothing for anyone.
/// </summary>
public sealed partial class RequestLifecycle
{
    private readonly Store _store;
    private readonly Dictionary<(string Kind, string State), IStateHandler[]> _handlers = [];
    private readonly Dictionary<(string Kind, string State), ITransitionObserver[]> _observers = [];

    public RequestLifecycle(Store store, IEnumerable<IStateHandler> handlers, IEnumerable<ITransitionObserver> observers)
    {
        _store = store;
        _claimMany = new(ClaimMany);
        _succeedMany = new(SucceedMany);
        _createMany = new(CreateMany);
        var allHandlers = handlers.ToList();
        var allObservers = observers.ToList();
        foreach (var kind in RequestKind.All)
        {
            foreach (var state in RequestStatus.All)
            {
                if (allHandlers.Where(h => (h.Kind ?? kind) == kind && (h.State ?? state) == state).ToArray() is { Length: > 0 } h)
                {
                    _handlers[(kind, state)] = h;
                }
                if (allObservers.Where(o => (o.Kind ?? kind) == kind && (o.State ?? state) == state).ToArray() is { Length: > 0 } o)
                {
                    _observers[(kind, state)] = o;
                }
            }
        }
    }

    /// <summary>A lifecycle with nothing attached (tools and tests that write through a bare store).</summary>
    public static RequestLifecycle Bare(Store store) => new(store, [], []);

    public Store Store => _store;

    /// <summary>Whether a consumer is attached to rows of this kind entering this status.</summary>
    public bool Attached(string kind, string state) => _handlers.ContainsKey((kind, state)) || _observers.ContainsKey((kind, state));

    private bool Handled(string kind, string state) => _handlers.ContainsKey((kind, state));

    /// <summary>
    /// The change point: called by every transition right after its statement changed the row,
    /// inside the unit. In-unit handlers run now; observers get the transition after the commit.
    /// A null <paramref name="unit"/> means nothing was attached when the unit started.
    /// </summary>
    internal void Changed(LifecycleUnit? unit, string kind, in Transition transition)
    {
        if (unit is null)
        {
            return;
        }
        if (_handlers.TryGetValue((kind, transition.To), out var handlers))
        {
            foreach (var handler in handlers)
            {
                handler.Apply(unit, transition);
            }
        }
        if (_observers.ContainsKey((kind, transition.To)))
        {
            unit.Observe(kind, transition);
        }
    }

    /// <summary>After the commit: each observer of the transition's kind and status, once.</summary>
    internal void Notify(string kind, in Transition transition)
    {
        foreach (var observer in _observers[(kind, transition.To)])
        {
            observer.Committed(transition);
        }
    }

    private LifecycleUnit? UnitIf(bool attached) => attached ? new LifecycleUnit(this) : null;

    /// <summary>
    /// A batched statement's units start with each run of the group: a group rolled back and
    /// run again item by item (PostgreSQL) publishes only what its committed run did.
    /// </summary>
    private static void Begin(DbConnection connection, IEnumerable<LifecycleUnit?> units)
    {
        foreach (var unit in units)
        {
            unit?.Begin(connection);
        }
    }

    /// <summary>A unit of work (its own savepoint), published after its commit; with a unit only when something is attached.</summary>
    private Task<T> WriteAsync<T>(bool attached, Func<DbConnection, LifecycleUnit?, T> work) => Published(attached, work, _store.WriteAsync);

    /// <summary>A unit that throws only when the store fails (<see cref="Store.WriteCheckedAsync"/>).</summary>
    private Task<T> WriteCheckedAsync<T>(bool attached, Func<DbConnection, LifecycleUnit?, T> work) => Published(attached, work, _store.WriteCheckedAsync);

    /// <summary>
    /// A one-statement transition: without a savepoint, as a bare statement is run, unless an
    /// in-unit handler may write more (<paramref name="handled"/>).
    /// </summary>
    private Task<T> WriteStatementAsync<T>(bool attached, bool handled, Func<DbConnection, LifecycleUnit?, T> statement) =>
        Published(attached, statement, handled ? _store.WriteAsync : _store.WriteStatementAsync);

    // Runs the work through one of the writer's kinds of unit, then publishes what it changed.
    private async Task<T> Published<T>(bool attached, Func<DbConnection, LifecycleUnit?, T> work, Func<Func<DbConnection, T>, Task<T>> write)
    {
        var unit = UnitIf(attached);
        var result = await write(c => work(c, unit?.Begin(c)));
        if (unit is not null)
        {
            await unit.PublishAsync();
        }
        return result;
    }
}
