using Switchboard.Fairness;
using Switchboard.Handlers;

namespace Switchboard.Catalog;

/// <summary>An offer's <c>params.priority</c> (<see cref="Priorities.Param"/>): its requests' level before the user's shift.</summary>
public static class OfferPriority
{
    /// <summary>The problem with a <c>params.priority</c>, or null when it is absent or a whole number from 0 to 9.</summary>
    public static string? Check(JsonObject parameters)
    {
        var problems = new List<(string, string)>();
        ParamChecks.Integer(parameters, Priorities.Param, Priorities.Min, Priorities.Max, problems);
        return problems.Count == 0 ? null : problems[0].Item2;
    }

    /// <summary>The offer's level: its checked <c>params.priority</c>, else <see cref="Priorities.Default"/>.</summary>
    public static int Of(JsonObject parameters)
    {
        var problems = new List<(string, string)>();
        return ParamChecks.Integer(parameters, Priorities.Param, Priorities.Min, Priorities.Max, problems) is { } level && problems.Count == 0 ? (int)level : Priorities.Default;
    }
}
