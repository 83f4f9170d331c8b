namespace Switchboard.Handlers;

/// <summary>
/// <c>echo.render</c>: returns the rendered prompt, once per result, suffixed with its index
/// (" #1", " #2", ...). For tests, demos and benchmarks: <c>delay_ms</c> waits, <c>fail_times</c>
/// fails transiently on the first N attempts, <c>fail</c> fails permanently (its string, if any,
/// is the message).
/// </summary>
public sealed class EchoRenderHandler : IServiceHandler
{
    public string Id => "echo.render";

    /// <summary>The types of the params it reads; other keys are left alone (tests and demos carry their own).</summary>
    public IEnumerable<(string Key, string Problem)> CheckParams(JsonObject parameters)
    {
        var problems = new List<(string, string)>();
        ParamChecks.Integer(parameters, "delay_ms", 0, long.MaxValue, problems);
        ParamChecks.Integer(parameters, "fail_times", 0, long.MaxValue, problems);
        if (parameters["fail"] is JsonValue fail && fail.GetValueKind() is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False or System.Text.Json.JsonValueKind.String))
        {
            problems.Add(("fail", "must be true, false or a message"));
        }
        return problems;
    }

    public async Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        var delay = context.Params.GetLong("delay_ms") ?? 0;
        if (delay > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(delay), cancellationToken);
        }
        if (context.Params.IsSet("fail"))
        {
            var message = context.Params["fail"]?.GetValueKind() == System.Text.Json.JsonValueKind.String
                ? context.Params.GetString("fail")!
                : "echo.render was told to fail";
            throw HandlerException.Permanent("echo_failed", message);
        }
        if (context.Attempt <= (context.Params.GetLong("fail_times") ?? 0))
        {
            throw HandlerException.Retry("echo_transient", $"echo.render transient failure on attempt {context.Attempt}");
        }
        for (var i = 1; i <= context.Quantity; i++)
        {
            context.AddResult($"{context.Prompt} #{i}");
        }
    }
}
