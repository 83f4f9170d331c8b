namespace Switchboard.Requests;

/// <summary>
/// Cross-origin reads of the event stream: a customer's page on its own origin follows a request
/// with <c>new EventSource(stream_url)</c>, which the browser lets it read only when the answer
/// allows the page's origin. Any origin may: the stream is authorized by the token in its URL or
/// a Bearer key, never by a cookie, so a page learns nothing it was not given. Only this
/// endpoint has the policy; every other route stays same-origin. ASP.NET Core's CORS middleware
/// answers the preflight (a reconnecting EventSource sends <c>Last-Event-ID</c>).
/// </summary>
public static class EventStreamCors
{
    public const string Policy = "event-streams";

    public static IServiceCollection AddEventStreamCors(this IServiceCollection services) =>
        services.AddCors(cors => cors.AddPolicy(Policy, policy => policy
            .AllowAnyOrigin()
            .WithMethods(HttpMethods.Get)
            .WithHeaders("Authorization", "Last-Event-ID", "Cache-Control", "Accept")));
}
