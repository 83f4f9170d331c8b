using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Errors;
using Switchboard.Storage;

namespace Switchboard.Requests;

/// <summary>
/// The capability tokens of <c>stream_url</c>: a browser's <c>EventSource</c> cannot send an
/// <c>Authorization</c> header, so the 202 answer hands the client a URL that opens that one
/// request's event stream, and nothing else, for <see cref="SwitchboardOptions.StreamTokenLifetime"/>
/// (a day at most). A token holds the request id, the user id and its expiry, sealed with
/// ASP.NET Core Data Protection (authenticated encryption: AES-256-CBC with HMAC-SHA256) under
/// the deployment's key ring, which lives in the store (<c>panel_keys</c>, sealed with the
/// bootstrap's Fernet key; <see cref="Admin.Panel.PanelKeyRing"/>): every api process accepts
/// the tokens of the others, a restart keeps them valid, and nothing an admin or a client sets
/// chooses the key. A library, not hand-written HMAC: key rotation and constant-time checks come with it.
/// </summary>
public sealed class StreamTokens(IDataProtectionProvider protection, IOptions<SwitchboardOptions> options)
{
    /// <summary>The purpose string: a token of any other Data Protection use (the panel's cookie) never opens here.</summary>
    private readonly IDataProtector _protector = protection.CreateProtector("Switchboard.Requests.StreamTokens.v1");

    /// <summary>Longer than any token this class makes; a longer query value is refused before decoding.</summary>
    private const int MaxLength = 1024;

    /// <summary>The absolute path of <paramref name="requestId"/>'s event stream with a new token for <paramref name="userId"/>.</summary>
    public string UrlFor(string requestId, string userId) => $"{RequestEventStream.PathOf(requestId)}?token={Issue(requestId, userId)}";

    public string Issue(string requestId, string userId)
    {
        var expires = Clock.NowMs() + (long)options.Value.StreamTokenLifetime.TotalMilliseconds;
        return _protector.Protect($"{requestId}|{userId}|{expires}");
    }

    /// <summary>The user <paramref name="token"/> lets follow <paramref name="requestId"/>, or the problem to answer.</summary>
    public (string? UserId, IResult? Problem) Check(string token, string requestId)
    {
        string payload;
        try
        {
            payload = token.Length <= MaxLength ? _protector.Unprotect(token) : throw new FormatException();
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            return (null, Invalid());
        }
        var parts = payload.Split('|');
        if (parts.Length != 3 || !long.TryParse(parts[2], out var expires))
        {
            return (null, Invalid());
        }
        if (Clock.NowMs() >= expires)
        {
            return (null, Problems.Of(401, "stream_token_expired", "The stream token has expired",
                "Follow the request with your API key (Authorization: Bearer), or read it with GET."));
        }
        return parts[0] == requestId
            ? (parts[1], null)
            : (null, Problems.Of(403, "stream_token_wrong_request", "The stream token is for another request",
                "A stream_url opens the event stream of the request whose answer carried it, and nothing else."));
    }

    internal static IResult Invalid() =>
        Problems.Of(401, "invalid_stream_token", "The stream token is not valid",
            "Use the stream_url of the request's 202 answer as it came, or send Authorization: Bearer <key>.");
}
