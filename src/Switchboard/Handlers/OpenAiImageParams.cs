using System.Globalization;
using System.Text.RegularExpressions;
using OpenAI.Images;

// OPENAI001: the GPT image models' fields (background, output_format) are marked for evaluation in the SDK; the version is pinned and ImageWireTests check what is sent.
#pragma warning disable OPENAI001

namespace Switchboard.Handlers;

/// <summary>The params of an <c>openai.image</c> offer: checked at <c>catalog apply</c>, turned into the SDK's options at run.</summary>
public static partial class OpenAiImageParams
{
    public static readonly string[] Qualities = ["auto", "standard", "hd", "low", "medium", "high"];
    public static readonly string[] Styles = ["vivid", "natural"];
    public static readonly string[] Backgrounds = ["auto", "transparent", "opaque"];
    public static readonly string[] Formats = ["png", "jpeg", "webp"];

    private static readonly string[] Known = [.. ParamChecks.Common, "model", "size", "quality", "style", "background", "output_format"];

    [GeneratedRegex(@"\A([1-9][0-9]{1,3})x([1-9][0-9]{1,3})\z")]
    private static partial Regex Size();

    public static IEnumerable<(string Key, string Problem)> Check(JsonObject p)
    {
        var problems = ParamChecks.Start(p, Known).ToList();
        ParamChecks.RequiredString(p, "model", problems);
        if (ParamChecks.String(p, "size", problems) is { } size && !Size().IsMatch(size))
        {
            problems.Add(("size", "must be WIDTHxHEIGHT in pixels (1024x1024, 1536x1024, …)"));
        }
        ParamChecks.OneOf(p, "quality", Qualities, problems);
        ParamChecks.OneOf(p, "style", Styles, problems);
        ParamChecks.OneOf(p, "background", Backgrounds, problems);
        ParamChecks.OneOf(p, "output_format", Formats, problems);
        return problems;
    }

    /// <summary>
    /// The SDK's options. DALL·E models answer with a URL unless asked for base64; the GPT image
    /// models always answer base64 and refuse the field, so it is sent only to the others.
    /// </summary>
    public static ImageGenerationOptions Options(JsonObject p, string model)
    {
        var options = new ImageGenerationOptions();
        if (!model.StartsWith("gpt-image", StringComparison.Ordinal))
        {
            options.ResponseFormat = GeneratedImageFormat.Bytes;
        }
        if (p.GetString("size") is { } size && Size().Match(size) is { Success: true } m)
        {
            options.Size = new GeneratedImageSize(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        }
        if (p.GetString("quality") is { } quality)
        {
            options.Quality = new GeneratedImageQuality(quality);
        }
        if (p.GetString("style") is { } style)
        {
            options.Style = new GeneratedImageStyle(style);
        }
        if (p.GetString("background") is { } background)
        {
            options.Background = new GeneratedImageBackground(background);
        }
        if (p.GetString("output_format") is { } format)
        {
            options.OutputFileFormat = new GeneratedImageFileFormat(format);
        }
        return options;
    }
}
