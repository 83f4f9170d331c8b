namespace Switchboard.Handlers;

/// <summary>
/// A view derived from snapshots that are replaced whole, never changed (the catalog, app
/// configs, the executors' reports): readers ask <c>isCurrent</c> (reference comparisons, no
/// lock, no allocation) and only the first reader after a replacement computes the next view,
/// under a lock. <c>compute</c> gets the previous view (null at first), to log only what is new.
/// </summary>
public sealed class SnapshotMemo<TView>(Func<TView, bool> isCurrent, Func<TView?, TView> compute) where TView : class
{
    private readonly Lock _lock = new();
    private volatile TView? _view;

    public TView Current
    {
        get
        {
            if (_view is { } view && isCurrent(view))
            {
                return view;
            }
            lock (_lock)
            {
                // Again under the lock: a caller that waited must not replace a newer view with its older inputs.
                if (_view is { } again && isCurrent(again))
                {
                    return again;
                }
                var next = compute(_view);
                _view = next;
                return next;
            }
        }
    }
}
