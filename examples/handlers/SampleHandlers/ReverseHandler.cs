using System.Globalization;
using Switchboard.Handlers;

namespace SampleHandlers;

/// <summary>
/// <c>sample.reverse</c>: the prompt backwards, by text element (an emoji or an accented letter
/// stays whole). With <c>params.fail_on</c>, a prompt containing that text fails permanently
/// with <c>reverse_refused</c> (how a plugin classifies a failure).
/// </summary>
public sealed class ReverseHandler : IServiceHandler
{
    public string Id => "sample.reverse";

    public Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        if (context.Params.GetString("fail_on") is { Length: > 0 } refused && context.Prompt.Contains(refused, StringComparison.Ordinal))
        {
            throw HandlerException.Permanent("reverse_refused", "the prompt contains the text this offer refuses");
        }
        var elements = new List<string>();
        var enumerator = StringInfo.GetTextElementEnumerator(context.Prompt);
        while (enumerator.MoveNext())
        {
            elements.Add(enumerator.GetTextElement());
        }
        elements.Reverse();
        var reversed = string.Concat(elements);
        for (var i = 0; i < context.Quantity; i++)
        {
            context.AddResult(reversed);
        }
        context.RecordUsage("characters", elements.Count);
        return Task.CompletedTask;
    }
}
