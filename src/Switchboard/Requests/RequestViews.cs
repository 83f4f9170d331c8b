using System.Text.Json.Nodes;
using Switchboard.Lifecycle;

namespace Switchboard.Requests;

// The shapes of the client API's answers about requests, for the OpenAPI document. The
// request object is built as JSON (RequestRecord.ToJson, Deals.DealView) because one object
// serves the client, the admin API and the live socket and grows fields by kind and state;
// these records describe it, and OpenApiContractTests compares real answers with them.

/// <summary>Why a request failed: a stable <see cref="Code"/> and a message for people.</summary>
public sealed record RequestError(string Code, string? Message);

/// <summary>
/// A request as <c>GET /svc/request/{id}/</c> shows it. A deal's adds <see cref="Deal"/>,
/// <see cref="Addons"/> and <see cref="Steps"/>; a queued job parked for its resource adds
/// <see cref="WaitingFor"/> (the resource's name), <see cref="QueuePosition"/> (1 is next) and
/// <see cref="EtaS"/>; a queued job whose handler no live executor serves shows
/// <see cref="WaitingFor"/> <c>"executor"</c>. A duplicate submit's 200 adds <see cref="StreamUrl"/>.
/// <see cref="Endpoint"/>: the endpoint profile that served the request, or its last attempt tried
/// (null for a handler that calls none).
/// </summary>
public sealed record RequestView(
    string Id,
    string Kind,
    string Service,
    string Action,
    string Status,
    JsonObject Inputs,
    long Price,
    JsonArray Results,
    RequestError? Error,
    int Attempts,
    int MaxAttempts,
    int Run,
    int Priority,
    JsonObject? Usage,
    string CreatedAt,
    string UpdatedAt,
    string? StartedAt,
    string? FinishedAt,
    string? ExpiresAt,
    string Url,
    string? Deal = null,
    IReadOnlyList<string>? Addons = null,
    IReadOnlyList<DealStepView>? Steps = null,
    string? WaitingFor = null,
    int? QueuePosition = null,
    double? EtaS = null,
    string? StreamUrl = null,
    RequestProgress? Progress = null,
    string? Endpoint = null);

/// <summary>
/// The running attempt's last stored progress report (kept on the finished request, cleared when
/// a new attempt starts): how far (0 to 1), what the handler said (control characters removed, at
/// most 200 characters) and when. Null before the first report.
/// </summary>
public sealed record RequestProgress(double Fraction, string? Message, string At);

/// <summary>One step of a deal's request.</summary>
public sealed record DealStepView(
    int Step, string Offer, string Pipeline, string Status, JsonArray Results, RequestError? Error, long Price, int Attempts,
    string? StartedAt, string? FinishedAt);
