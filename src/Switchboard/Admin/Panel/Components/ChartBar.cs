namespace Switchboard.Admin.Panel.Components;

/// <summary>
/// One bar of a <c>BarChart</c>: its axis label (shown on every few bars), its tooltip, and its
/// stacked segments from the bottom (each drawn with the chart's class of the same index).
/// </summary>
public sealed record ChartBar(string Label, string Tooltip, IReadOnlyList<double> Segments)
{
    public double Total => Segments.Sum();
}
