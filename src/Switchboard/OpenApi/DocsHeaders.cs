using Scalar.AspNetCore;

namespace Switchboard.OpenApi;

/// <summary>
/// Headers of the pages under <c>/docs</c>. The reference runs Scalar's script (served from
/// the binary, with a nonce per answer on its script tags) and may call this server only:
/// <c>connect-src 'self'</c> keeps "try it" requests and any stray fetch from leaving it. The
/// admin panel's stricter policy (no script at all) covers <c>/admin/</c> only.
/// </summary>
public static class DocsHeaders
{
    public static IApplicationBuilder UseDocsHeaders(this IApplicationBuilder app) =>
        app.Use((http, next) =>
        {
            if (http.Request.Path.StartsWithSegments("/docs"))
            {
                http.Response.OnStarting(() =>
                {
                    var nonce = http.Items[ScalarOptions.NonceHttpContextItemKey] as string;
                    var headers = http.Response.Headers;
                    headers.ContentSecurityPolicy = Policy(nonce);
                    headers.XContentTypeOptions = "nosniff";
                    headers.XFrameOptions = "DENY";
                    headers["Referrer-Policy"] = "same-origin";
                    return Task.CompletedTask;
                });
            }
            return next(http);
        });

    /// <summary>
    /// Styles stay inline-able: Scalar's components set style attributes at run time. Scripts
    /// are this server's or carry the answer's nonce.
    /// </summary>
    public static string Policy(string? nonce) =>
        "default-src 'self'; "
        + (nonce is null ? "script-src 'self'; " : $"script-src 'self' 'nonce-{nonce}'; ")
        + "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
}
