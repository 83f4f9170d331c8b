using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Users;

namespace Switchboard.Credits;

/// <summary>
/// Credits in the admin JSON API (<c>/admin/api</c>, admin keys only): grant or adjust a user's
/// credits, read a user's ledger, audit the store. The rules are <see cref="CreditMoves"/>'s and
/// the audit <see cref="CreditsAudit"/>'s, the same the CLI runs.
/// </summary>
public static class CreditsAdminEndpoints
{
    /// <summary>A credit move's body is a few fields; anything longer is not one.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    public const int DefaultLedgerLimit = 100;
    public const int MaxLedgerLimit = 1000;

    public static RouteGroupBuilder MapCreditsAdmin(this RouteGroupBuilder admin)
    {
        admin.MapPost("/users/{name}/credits", Move)
            .Describe("credits", "move_credits", "Grant or adjust a user's credits").AnswersJson(200, 400, 404, 409);
        admin.MapGet("/users/{name}/ledger", Ledger).Describe("credits", "get_ledger", "A user's ledger, newest first").AnswersJson(200, 400, 404);
        admin.MapGet("/credits/audit", Audit).Describe("credits", "audit_credits", "Check every balance against its ledger").AnswersJson(200);
        return admin;
    }

    private static async Task<IResult> Move(string name, HttpContext http, Store store)
    {
        var (body, problem) = await AdminJson.Read(http.Request, MaxBodyBytes, "{\"kind\", \"amount\", \"note\"}", "kind", "amount", "note");
        if (body is null)
        {
            return problem!;
        }
        var kind = body["kind"] is JsonValue k && k.TryGetValue<string>(out var text) ? text : null;
        if (kind is not (CreditMoves.Grant or CreditMoves.Adjust))
        {
            return Bad("invalid_kind", "kind must be \"grant\" or \"adjust\".");
        }
        if (body["amount"] is not JsonValue a || a.GetValueKind() != JsonValueKind.Number || !a.TryGetValue<long>(out var amount))
        {
            return Bad("invalid_amount", "amount must be a whole number of credits.");
        }
        string? note = null;
        if (body["note"] is { } n && (n.GetValueKind() != JsonValueKind.String || (note = n.GetValue<string>()) is null))
        {
            return Bad("invalid_note", "note must be a string.");
        }
        try
        {
            CreditMoves.Validate(kind, amount, note);
            var actor = http.User().Name;
            var move = await store.WriteAsync(c => CreditMoves.Apply(c, name, kind, amount, note, actor));
            return TypedResults.Ok(new JsonObject
            {
                ["name"] = move.User.Name,
                ["balance"] = move.User.Credits,
                ["entry"] = CreditMoves.ToJson(move.Entry),
            });
        }
        catch (CreditMoveException ex)
        {
            return ex.Code switch
            {
                "user_not_found" => UserNotFound(name),
                "insufficient_credits" => Problems.Of(409, ex.Code, "Not enough credits", ex.Message),
                _ => Bad(ex.Code, ex.Message),
            };
        }
    }

    private static IResult Ledger(string name, HttpContext http, Store store)
    {
        var limit = DefaultLedgerLimit;
        var text = http.Request.Query["limit"];
        if (text.Count > 0
            && (text.Count > 1 || !int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLedgerLimit))
        {
            return Bad("invalid_limit", $"limit is a whole number from 1 to {MaxLedgerLimit}.");
        }
        using var connection = store.Open();
        if (UserStore.Find(connection, name) is not { } user)
        {
            return UserNotFound(name);
        }
        return TypedResults.Ok(new JsonObject
        {
            ["name"] = user.Name,
            ["balance"] = user.Credits,
            ["ledger"] = new JsonArray([.. UserStore.Ledger(connection, user.Id, limit).Select(e => (JsonNode)CreditMoves.ToJson(e))]),
        });
    }

    private static IResult Audit(Store store)
    {
        using var connection = store.Open();
        return TypedResults.Ok(CreditsAudit.Run(connection).ToJson());
    }

    private static ProblemHttpResult Bad(string code, string detail) => Problems.Of(400, code, "Invalid credit move", detail);

    private static ProblemHttpResult UserNotFound(string name) => Problems.Of(404, "user_not_found", "No such user", $"No user is named '{name}'.");
}
