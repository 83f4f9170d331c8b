using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Switchboard.Blobs;
using Switchboard.Users;

namespace Switchboard.Requests;

/// <summary>
/// <c>GET /svc/request/{id}/results/{sha256}</c>: the bytes of a binary result, to the request's
/// owner only (any other key gets the 404 of a result that does not exist; a deal's steps' results
/// are read through the deal). Served as stored: the media type the handler declared, its length,
/// ETag = the SHA-256 (If-None-Match answers 304 without reading the bytes), streamed from the
/// store. The bytes are whatever an upstream sent, so the answer may not be sniffed into another
/// type and runs sandboxed with nothing allowed: an SVG or HTML "image" opened at this url cannot
/// script the API's origin.
/// </summary>
public static partial class ResultEndpoint
{
    /// <summary>The headers that keep a result's bytes inert in a browser.</summary>
    public const string ContentSecurityPolicy = "default-src 'none'; sandbox";

    [GeneratedRegex("^[0-9a-f]{64}\\z")]
    private static partial Regex Sha256();

    public static RouteHandlerBuilder MapResultEndpoint(this RouteGroupBuilder svc) =>
        svc.MapGet("/request/{id}/results/{sha256}", Handle)
            .WithName("get_result").WithTags("requests").WithSummary("The bytes of a binary result")
            .WithDescription("A binary result listed on the request object as {type: \"binary\", media_type, bytes, sha256, url} is read at its url "
                + "by the request's owner. Content-Type is the result's media_type, ETag its sha256 (If-None-Match answers 304).")
            .Produces(StatusCodes.Status200OK, typeof(Stream), "application/octet-stream")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(400).ProducesProblem(404);

    private static IResult Handle(string id, string sha256, HttpContext http, Store store)
    {
        if (!RequestEndpoints.IsRequestId(id))
        {
            return RequestEndpoints.InvalidId();
        }
        if (!Sha256().IsMatch(sha256))
        {
            return NotFound();
        }
        var connection = store.Open();
        try
        {
            var blob = ResultBlobs.Find(connection, id, http.User().Id, sha256);
            if (blob is null)
            {
                return NotFound();
            }
            var headers = http.Response.Headers;
            var etag = new EntityTagHeaderValue($"\"{sha256}\"");
            headers.ETag = etag.ToString();
            // The owner's key reads it: no shared cache may keep it; the hash lets the client revalidate for free.
            headers.CacheControl = "private, no-cache";
            headers.XContentTypeOptions = "nosniff";
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            if (EntityTagHeaderValue.TryParseList(http.Request.Headers.IfNoneMatch, out var tags)
                && tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(etag, useStrongComparison: false)))
            {
                return TypedResults.StatusCode(StatusCodes.Status304NotModified);
            }
            var content = ResultBlobs.OpenContent(connection, sha256);
            if (content is null)
            {
                return NotFound();
            }
            // The connection reads the stream: it is closed once the answer is sent.
            http.Response.RegisterForDispose(connection);
            connection = null;
            http.Response.ContentLength = blob.Bytes;
            http.Response.RegisterForDispose(content);
            return TypedResults.Stream(content, blob.MediaType);
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private static ProblemHttpResult NotFound() =>
        Problems.Of(StatusCodes.Status404NotFound, "result_not_found", "No such result");
}
