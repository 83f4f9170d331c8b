using Switchboard.Handlers;

namespace Switchboard.Catalog;

/// <summary>What is wrong with an offer's params for handler <paramref name="handler"/>, as <c>(key, problem)</c>.</summary>
public delegate IEnumerable<(string Key, string Problem)> ParamsCheck(string handler, JsonObject parameters);

/// <summary>
/// The params check <c>catalog apply</c> and the offer edits run: each offer's params through its
/// handler's <see cref="IServiceHandler.CheckParams"/>, from the handlers this process knows
/// (built in, and the plugins it loaded). A handler whose check throws (a plugin's bug) gets
/// the offer refused with that said, not an error page.
/// </summary>
public static class HandlerParamsCheck
{
    public static IEnumerable<(string Key, string Problem)> CheckParams(this HandlerRegistry registry, string handler, JsonObject parameters)
    {
        if (registry.Find(handler) is not { } implementation)
        {
            return [];
        }
        try
        {
            return [.. implementation.CheckParams(parameters)];
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return [("", $"could not be checked: {handler}'s CheckParams failed ({ex.GetType().Name})")];
        }
    }
}
