using System.CommandLine;

namespace Switchboard.Cli.Commands;

/// <summary><c>handlers list</c>: the handlers a server on this store would have, built-in and plugins.</summary>
public sealed class HandlersCommand : Command
{
    public HandlersCommand(CliContext context) : base("handlers", "The handlers this build and its plugins folder give, with their catalog resource and installation")
    {
        var json = new Option<bool>("--json") { Description = "One JSON object a line instead of a table" };
        Add(new StoreCommand("list", "Lists every handler: id, source (built-in or the plugin's file), version, resource, installed (service_map)", context, (parse, s) =>
            HandlerListing.List(s, CatalogCommand.HandlersOf(s.Bootstrap), parse.GetValue(json), context.Output, context.Error))
        {
            Recorded = StoreCommand.OnlyReads,
        }.With(json));
    }
}
