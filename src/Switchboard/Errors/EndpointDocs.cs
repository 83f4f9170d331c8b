namespace Switchboard.Errors;

/// <summary>
/// What the OpenAPI documents say of an endpoint, in one line per endpoint: its tag, operation
/// id and summary, then what it answers (a JSON object, or no content) and the problems it may
/// answer instead, in the order given (the documents list them so).
/// </summary>
public static class EndpointDocs
{
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder endpoint, string tag, string name, string summary) =>
        endpoint.WithName(name).WithTags(tag).WithSummary(summary);

    public static RouteHandlerBuilder AnswersJson(this RouteHandlerBuilder endpoint, int status, params int[] problems) =>
        endpoint.Produces<JsonObject>(status).AnswersProblems(problems);

    public static RouteHandlerBuilder AnswersNoContent(this RouteHandlerBuilder endpoint, params int[] problems) =>
        endpoint.Produces(StatusCodes.Status204NoContent).AnswersProblems(problems);

    public static RouteHandlerBuilder AnswersProblems(this RouteHandlerBuilder endpoint, params int[] problems)
    {
        foreach (var status in problems)
        {
            endpoint.ProducesProblem(status);
        }
        return endpoint;
    }
}
