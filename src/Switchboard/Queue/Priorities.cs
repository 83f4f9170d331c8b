using System.Text.Json.Nodes;

namespace Switchboard.Queue;

/// <summary>
/// Request priorities: 0 (lowest) to 9 (highest), 5 unless an offer, a user, its plan or the
/// <c>Priority</c> header says otherwise. A higher level runs before a lower one; a level that
/// waits ages upward (<see cref="FairOrder{T}"/>), so none starves.
/// </summary>
public static class Priorities
{
    public const int Min = 0;
    public const int Max = 9;
    public const int Default = 5;

    /// <summary>An offer's <c>params.priority</c>: its requests' level before the user's shift (checked when the catalog is applied).</summary>
    public const string Param = "priority";

    public static int Clamp(int priority) => Math.Clamp(priority, Min, Max);

    /// <summary>The problem with a <c>params.priority</c>, or null when it is absent or a whole number from 0 to 9.</summary>
    public static string? Check(JsonObject parameters)
    {
        var problems = new List<(string, string)>();
        Handlers.ParamChecks.Integer(parameters, Param, Min, Max, problems);
        return problems.Count == 0 ? null : problems[0].Item2;
    }

    /// <summary>The offer's level: its checked <c>params.priority</c>, else <see cref="Default"/>.</summary>
    public static int OfParams(JsonObject parameters)
    {
        var problems = new List<(string, string)>();
        return Handlers.ParamChecks.Integer(parameters, Param, Min, Max, problems) is { } level && problems.Count == 0 ? (int)level : Default;
    }
}
