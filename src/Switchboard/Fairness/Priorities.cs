namespace Switchboard.Fairness;

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
}
