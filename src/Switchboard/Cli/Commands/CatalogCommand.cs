using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Handlers;

namespace Switchboard.Cli.Commands;

/// <summary><c>catalog apply|export|check</c>: handlers, offers and deals.</summary>
public sealed class CatalogCommand : Command
{
    public CatalogCommand(CliContext context) : base("catalog", "The catalog: apply a YAML file, export it, check for offers that are not live")
    {
        var file = new Argument<string>("file") { Description = "The catalog YAML (handlers, offers, deals)" };
        Add(new StoreCommand("apply", "Applies a catalog file (all or nothing)", context, (parse, s) =>
            ManagementCommands.ApplyCatalog(s.Bootstrap, s.Store, HandlersOf(s.Bootstrap), parse.GetValue(file)!, context.Output, context.Error))
        {
            file,
        });
        Add(new StoreCommand("export", "Prints the stored catalog as YAML", context, (_, s) => ManagementCommands.ExportCatalog(s.Store, context.Output))
        {
            Recorded = StoreCommand.OnlyReads,
        });
        Add(new StoreCommand("check", "Lists offers that are not live: params to move to an endpoint profile, or a handler's profile or credential missing from svc_handlers (exit 1 when there are any)", context, (_, s) =>
            ManagementCommands.CheckCatalog(s.Bootstrap, s.Store, HandlersOf(s.Bootstrap), context.Output))
        {
            Recorded = StoreCommand.OnlyReads,
        });
    }

    /// <summary>
    /// The handlers a server on this bootstrap has (the built-in ones and the plugins of its
    /// plugins folder), for checking the ids a catalog or a config names. A broken plugin fails
    /// the command as it would fail a server's start.
    /// </summary>
    public static HandlerRegistry HandlersOf(Config.BootstrapConfig bootstrap)
    {
        var services = new ServiceCollection();
        services.AddHandlers(bootstrap.Plugins);
        return services.BuildServiceProvider().GetRequiredService<HandlerRegistry>();
    }
}
