using Microsoft.AspNetCore.Http.Features;

namespace Switchboard.Errors;

/// <summary>
/// Checks that come before any endpoint, for every endpoint (those added later too): a query
/// string with a control character is refused (400 <c>invalid_query</c>; PostgreSQL refuses NUL
/// in text, which would otherwise surface as a 503 from whichever endpoint passes it to the
/// store), and a form body that cannot be read (a multipart body without its boundary, too many
/// fields) is refused (400 <c>invalid_form</c>) instead of failing, as a 500, in the antiforgery
/// check or the endpoint that reads it, as is a form value with a control character other than
/// tab and line breaks (<see cref="InputText"/>, the rule of JSON bodies). The form read here is the one the endpoint gets
/// (ASP.NET Core keeps it on the request), so nothing is read twice.
/// </summary>
public static class RequestTextChecks
{
    public static WebApplication UseRequestTextChecks(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            // Most requests (every submit) have no query string: nothing to parse.
            if (http.Request.QueryString.HasValue && http.Request.Query.Any(q => HasControl(q.Key) || q.Value.Any(v => v is not null && HasControl(v))))
            {
                await Problems.Of(400, "invalid_query", "The query string is not valid", "A query value may not hold control characters.")
                    .ExecuteAsync(http);
                return;
            }
            if (http.Request.HasFormContentType && http.Features.Get<IFormFeature>()?.Form is null)
            {
                IFormCollection form;
                try
                {
                    form = await http.Request.ReadFormAsync(http.RequestAborted);
                }
                catch (BadHttpRequestException ex)
                {
                    await Problems.Of(ex.StatusCode, ex.StatusCode == 413 ? "body_too_large" : "invalid_form", "The form cannot be read").ExecuteAsync(http);
                    return;
                }
                catch (Exception ex) when (ex is InvalidDataException or IOException)
                {
                    await Problems.Of(400, "invalid_form", "The form cannot be read", "Send a well-formed form body.").ExecuteAsync(http);
                    return;
                }
                if (form.Any(f => !InputText.IsText(f.Key) || f.Value.Any(v => v is not null && !InputText.IsText(v))))
                {
                    await Problems.Of(400, "invalid_form", "The form is not valid", "A form value may not hold control characters but tab and line breaks.")
                        .ExecuteAsync(http);
                    return;
                }
            }
            await next(http);
        });
        return app;
    }

    private static bool HasControl(string s) => s.Any(char.IsControl);
}
