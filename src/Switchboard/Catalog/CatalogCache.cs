namespace Switchboard.Catalog;

/// <summary>The live catalog of this process, swapped whole by <see cref="Hosting.StoreWatcher"/>.</summary>
public sealed class CatalogCache
{
    private volatile CatalogSnapshot _current = CatalogSnapshot.Empty;

    public CatalogSnapshot Current
    {
        get => _current;
        set => _current = value;
    }
}
