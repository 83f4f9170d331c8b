using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Rendering;

namespace Switchboard.Admin.Panel.Components.Shared;

/// <summary>
/// An SVG <c>&lt;text&gt;</c> label of a chart's axis. Written in C#: in a .razor file the
/// <c>&lt;text&gt;</c> tag is Razor's own and cannot carry attributes.
/// </summary>
public sealed class SvgText : ComponentBase
{
    [Parameter, EditorRequired] public double X { get; set; }

    [Parameter, EditorRequired] public double Y { get; set; }

    /// <summary>text-anchor: start, middle or end.</summary>
    [Parameter] public string Anchor { get; set; } = "start";

    [Parameter, EditorRequired] public string Text { get; set; } = "";

    protected override void BuildRenderTree(RenderTreeBuilder builder)
    {
        builder.OpenElement(0, "text");
        builder.AddAttribute(1, "class", "axis");
        builder.AddAttribute(2, "x", X.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture));
        builder.AddAttribute(3, "y", Y.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture));
        builder.AddAttribute(4, "text-anchor", Anchor);
        builder.AddContent(5, Text);
        builder.CloseElement();
    }
}
