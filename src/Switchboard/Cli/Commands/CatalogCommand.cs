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
            ManagementCommands.ApplyCatalog(s.Bootstrap, s.Store, BuiltInHandlers(), parse.GetValue(file)!, context.Output, context.Error))
        {
            file,
        });
        Add(new StoreCommand("export", "Prints the stored catalog as YAML", context, (_, s) => ManagementCommands.ExportCatalog(s.Store, context.Output))
        {
            Recorded = StoreCommand.OnlyReads,
        });
        Add(new StoreCommand("check", "Lists offers that are not live: params to move to an endpoint profile, or a handler's profile or credential missing from svc_handlers (exit 1 when there are any)", context, (_, s) =>
            ManagementCommands.CheckCatalog(s.Bootstrap, s.Store, BuiltInHandlers(), context.Output))
        {
            Recorded = StoreCommand.OnlyReads,
        });
    }

    /// <summary>The handlers this build has, for checking the ids a catalog or a config names.</summary>
    public static HandlerRegistry BuiltInHandlers()
    {
        var services = new ServiceCollection();
        services.AddHandlers();
        return services.BuildServiceProvider().GetRequiredService<HandlerRegistry>();
    }
}
