using Microsoft.Extensions.Options;

namespace Switchboard.Config;

/// <summary>One loaded app config: its values with secrets open, and which stored version they are (null: none is stored, defaults apply).</summary>
public sealed record LoadedConfig(string Id, string? Version, long? Seq, string? Hash, JsonObject Values);

/// <summary>
/// The app configs this process runs with (SPEC.md §6). At start every known id and every id
/// the bootstrap names (<c>meta.ids</c>) is loaded: the pinned version, or the active one. A
/// pinned version that is missing or unreadable stops the start with a message naming it.
/// Unpinned ids follow the active version live (<see cref="Refresh"/>): a version that does not
/// load or validate is logged and the previous one kept.
/// </summary>
public sealed class AppConfigs
{
    /// <summary>The ids this build reads; others named in meta.ids are loaded and kept for whoever asks.</summary>
    public static readonly string[] KnownIds = [ApiConfig.Id, ServiceMap.Id, HandlerSettings.Id, ResourceMap.Id, ReconConfig.Id];

    private readonly BootstrapConfig _bootstrap;
    private readonly ConfigStore _store;
    private readonly SwitchboardOptions _options;
    private readonly ILogger<AppConfigs> _logger;
    private volatile State _state;
    private long _changeCount = -1;

    private sealed record State(
        IReadOnlyDictionary<string, LoadedConfig> Loaded, ApiConfig Api, ServiceMap Services, HandlerSettings Handlers, ResourceMap Resources, ReconConfig Recon);

    public AppConfigs(BootstrapConfig bootstrap, Store store, IOptions<SwitchboardOptions> options, ILogger<AppConfigs> logger)
    {
        _bootstrap = bootstrap;
        _store = new ConfigStore(store, bootstrap.ConfigTable);
        _options = options.Value;
        _logger = logger;
        _state = new State(new Dictionary<string, LoadedConfig>(), ApiConfig.Defaults(_options), ServiceMap.Everything, HandlerSettings.None, ResourceMap.Empty, ReconConfig.Defaults);
    }

    public ApiConfig Api => _state.Api;

    public ServiceMap Services => _state.Services;

    public HandlerSettings Handlers => _state.Handlers;

    public ResourceMap Resources => _state.Resources;

    public ReconConfig Recon => _state.Recon;

    public LoadedConfig? Get(string id) => _state.Loaded.GetValueOrDefault(id);

    /// <summary>The stored versions (the admin API and panel list, diff and roll back through it).</summary>
    public ConfigStore Versions => _store;

    /// <summary>The ids this process reads: the known ones and those its bootstrap names.</summary>
    public IEnumerable<string> ReadIds => KnownIds.Union(_bootstrap.ConfigIds.Keys);

    /// <summary>Loads every config; throws <see cref="ConfigException"/> naming what is missing or wrong.</summary>
    public void LoadAtStart()
    {
        _changeCount = _store.ChangeCount();
        var loaded = new Dictionary<string, LoadedConfig>(StringComparer.Ordinal);
        foreach (var id in ReadIds)
        {
            var pinned = _bootstrap.ConfigIds.GetValueOrDefault(id);
            var row = _store.Get(id, pinned);
            if (row is null && pinned is not null)
            {
                var versions = _store.List(id);
                throw new ConfigException(versions.Count == 0
                    ? $"{Where}: meta.ids names config '{id}', which is not in the store (push it with `switchboard config push FILE --id {id}`)"
                    : $"{Where}: meta.ids names version {pinned} of config '{id}', which is not in the store (it has {string.Join(", ", versions.Select(v => v.Version))})");
            }
            loaded[id] = Open(id, row);
        }
        _state = Build(loaded, throwOnError: true)!;
        foreach (var config in loaded.Values)
        {
            if (config.Version is null)
            {
                _logger.LogInformation("Config {Id}: no version stored, the defaults apply", config.Id);
            }
            else
            {
                LogLoaded(config);
            }
        }
    }

    /// <summary>
    /// Reloads unpinned ids whose active version changed, when <paramref name="count"/> (the
    /// store's <c>config_version</c>, read by <see cref="Hosting.StoreWatcher"/> with the other counters)
    /// moved; nothing to do otherwise.
    /// </summary>
    public void Refresh(long count)
    {
        if (count == _changeCount)
        {
            return;
        }
        _changeCount = count;
        var current = _state;
        var loaded = new Dictionary<string, LoadedConfig>(current.Loaded, StringComparer.Ordinal);
        var changed = new List<LoadedConfig>();
        foreach (var id in ReadIds.Where(id => _bootstrap.ConfigIds.GetValueOrDefault(id) is null))
        {
            var row = _store.Get(id, null);
            // Rotation rewrites a version in place: the hash tells that a reload is due.
            var before = current.Loaded.GetValueOrDefault(id);
            if (row?.Seq == before?.Seq && row?.Hash == before?.Hash)
            {
                continue;
            }
            try
            {
                var config = Open(id, row);
                loaded[id] = config;
                changed.Add(config);
            }
            catch (ConfigException ex)
            {
                _logger.LogError("Config {Id} version {Version} was not loaded, the previous one stays: {Problem}", id, row?.Version, ex.Message);
            }
        }
        if (changed.Count == 0)
        {
            return;
        }
        if (Build(loaded, throwOnError: false) is { } next)
        {
            _state = next;
            changed.ForEach(LogLoaded);
        }
    }

    private string Where => _bootstrap.FilePath ?? "the embedded store";

    private LoadedConfig Open(string id, ConfigVersion? row)
    {
        if (row is null)
        {
            return new LoadedConfig(id, null, null, null, []);
        }
        var values = ConfigProtocol.Load(row.Content, $"config {id}@{row.Version}", new ConfigProtocol.Reading(id, _bootstrap.Keys()));
        return new LoadedConfig(id, row.Version, row.Seq, row.Hash, ConfigProtocol.Unwrap(id, values));
    }

    private State? Build(Dictionary<string, LoadedConfig> loaded, bool throwOnError)
    {
        var errors = new List<string>();
        var views = Views(id => loaded.GetValueOrDefault(id)?.Values ?? [], _options, errors);
        if (errors.Count == 0)
        {
            return new State(loaded, views.Api, views.Services, views.Handlers, views.Resources, views.Recon);
        }
        var versions = string.Join(", ", loaded.Values.Where(c => c.Version is not null).Select(c => $"{c.Id}@{c.Version}"));
        var message = $"the configs ({versions}) are not valid: {string.Join("; ", errors)}";
        if (throwOnError)
        {
            throw new ConfigException($"{Where}: {message}");
        }
        _logger.LogError("Configs were not reloaded, the previous ones stay: {Problem}", message);
        return null;
    }

    /// <summary>Reads the known ids' values into their typed forms; problems go to <paramref name="errors"/>.</summary>
    public static (ApiConfig Api, ServiceMap Services, HandlerSettings Handlers, ResourceMap Resources, ReconConfig Recon) Views(
        Func<string, JsonObject> values, SwitchboardOptions options, List<string> errors) =>
        (ApiConfig.Read(values(ApiConfig.Id), options, errors),
         ServiceMap.Read(values(ServiceMap.Id), errors),
         HandlerSettings.Read(values(HandlerSettings.Id), errors),
         ResourceMap.Read(values(ResourceMap.Id), errors),
         ReconConfig.Read(values(ReconConfig.Id), errors));

    /// <summary>The problems a document would have as config <paramref name="id"/> (push checks before storing).</summary>
    public static List<string> Validate(string id, JsonObject values)
    {
        var errors = new List<string>();
        if (KnownIds.Contains(id))
        {
            Views(other => other == id ? values : [], new SwitchboardOptions(), errors);
        }
        return errors;
    }

    private void LogLoaded(LoadedConfig config) =>
        _logger.LogInformation("Config {Id} version {Version} loaded{Pinned}", config.Id, config.Version,
            _bootstrap.ConfigIds.GetValueOrDefault(config.Id) is null ? " (active version)" : " (pinned)");
}
