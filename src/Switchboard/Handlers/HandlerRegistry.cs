namespace Switchboard.Handlers;

/// <summary>The handlers this process has, by id.</summary>
public sealed class HandlerRegistry(IEnumerable<IServiceHandler> handlers)
{
    private readonly Dictionary<string, IServiceHandler> _byId = handlers.ToDictionary(h => h.Id, StringComparer.Ordinal);

    public IReadOnlySet<string> Ids => _byId.Keys.ToHashSet(StringComparer.Ordinal);

    public IServiceHandler? Find(string id) => _byId.GetValueOrDefault(id);
}
