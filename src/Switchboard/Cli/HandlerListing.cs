using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Catalog;
using Switchboard.Config;
using Switchboard.Handlers;

namespace Switchboard.Cli;

/// <summary>
/// What <c>switchboard handlers list</c> shows: every handler this bootstrap's servers have
/// (built-in, then the plugins), with its source and version, the resource its catalog entry
/// names (whether the <c>resource_map</c> limits it) and whether the <c>service_map</c> installs it.
/// </summary>
public static class HandlerListing
{
    public sealed record Row(string Id, string Source, string Version, string? Resource, bool? Limited, bool InCatalog, bool? Installed)
    {
        public JsonObject ToJson() => new()
        {
            ["id"] = Id,
            ["source"] = Source,
            ["version"] = Version,
            ["resource"] = Resource,
            ["resource_limited"] = Limited,
            ["in_catalog"] = InCatalog,
            ["installed"] = Installed,
        };
    }

    public static int List(StoreAccess access, HandlerRegistry handlers, bool json, TextWriter output, TextWriter error)
    {
        var configs = new AppConfigs(access.Bootstrap, access.Store, Options.Create(new SwitchboardOptions()), NullLogger<AppConfigs>.Instance);
        var configsRead = true;
        try
        {
            configs.LoadAtStart();
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            // The handlers are still worth listing; what the configs would say is unknown. The
            // message names paths, never values (ConfigException, BootstrapException).
            error.WriteLine($"switchboard: the service_map and resource_map configs could not be read, so 'installed' and 'limited' are unknown: {ex.Message}");
            configsRead = false;
        }
        CatalogSnapshot catalog;
        using (var connection = access.Store.Open())
        {
            catalog = CatalogStore.Load(connection);
        }
        var rows = handlers.Origins.Select(h =>
        {
            var entry = catalog.Handlers.GetValueOrDefault(h.Id);
            bool? limited = entry?.Resource is { } resource && configsRead ? configs.Resources.Resources.ContainsKey(resource) : null;
            return new Row(h.Id, h.Source, h.Version, entry?.Resource, limited, entry is not null, configsRead ? configs.Services.IsInstalled(h.Id) : null);
        }).ToList();
        if (json)
        {
            rows.ForEach(r => output.WriteLine(r.ToJson().ToJsonString()));
        }
        else
        {
            WriteTable(rows, output);
        }
        return CommandLine.Ok;
    }

    private static void WriteTable(List<Row> rows, TextWriter output)
    {
        static string Yes(bool? value) => value switch { true => "yes", false => "no", null => "?" };
        string[] header = ["ID", "SOURCE", "VERSION", "RESOURCE", "INSTALLED"];
        var cells = rows.Select(r => new[]
        {
            r.Id, r.Source, r.Version,
            !r.InCatalog ? "(not in catalog)" : r.Resource is null ? "-" : r.Limited == true ? $"{r.Resource} (limited)" : r.Resource,
            Yes(r.Installed),
        }).ToList();
        var widths = header.Select((h, i) => cells.Select(c => c[i].Length).Append(h.Length).Max()).ToArray();
        foreach (var line in cells.Prepend(header))
        {
            output.WriteLine(string.Join("  ", line.Select((c, i) => i == line.Length - 1 ? c : c.PadRight(widths[i]))));
        }
    }
}
