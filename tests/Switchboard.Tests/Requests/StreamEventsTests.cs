using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Config;
using Switchboard.Requests;

namespace Switchboard.Tests.Requests;

/// <summary>
/// Resume semantics of the event stream, on request objects as the store gives them: from the
/// cursor of any event a client saw, <see cref="StreamEvents.After"/> sends exactly the events
/// of the current state it has not seen (status, progress, result, end), and a progress write
/// (which changes <c>updated_at</c> and <c>progress</c> only) is a progress event, not a new status.
/// </summary>
public sealed class StreamEventsTests
{
    private static StreamEvents.Snapshot Row(string status, int attempts = 1, string? progress = null, string updatedAt = "2026-01-01T00:00:00.000Z")
    {
        var json = new JsonObject
        {
            ["id"] = new string('a', 32),
            ["status"] = status,
            ["attempts"] = attempts,
            ["results"] = status == "succeeded" ? new JsonArray("done #1") : new JsonArray(),
            ["updated_at"] = updatedAt,
        };
        if (progress is not null)
        {
            json["progress"] = JsonNode.Parse(progress);
        }
        return new StreamEvents.Snapshot(status, json);
    }

    /// <summary>A client following the request through <paramref name="states"/>, one read per state: every event it got.</summary>
    private static List<(string Type, string Id, string Data)> Follow(params StreamEvents.Snapshot[] states)
    {
        var events = new List<(string, string, string)>();
        StreamEvents.Cursor? seen = null;
        foreach (var state in states)
        {
            (var items, seen) = StreamEvents.After(state, seen);
            events.AddRange(items.Select(i => (i.EventType, i.EventId!, i.Data)));
        }
        return events;
    }

    private static readonly StreamEvents.Snapshot[] Life =
    [
        Row("queued", 0),
        Row("running"),
        Row("running", progress: """{"fraction":0.5,"message":"half"}""", updatedAt: "2026-01-01T00:00:01.000Z"),
        Row("running", progress: """{"fraction":0.9,"message":"nearly"}""", updatedAt: "2026-01-01T00:00:02.000Z"),
        Row("succeeded", progress: """{"fraction":1,"message":"done"}""", updatedAt: "2026-01-01T00:00:03.000Z"),
    ];

    [Fact]
    public void ALifeIsStatusesWithProgressBetweenThenResultAndEnd()
    {
        var events = Follow(Life);

        Assert.Equal(["status", "status", "progress", "progress", "status", "result", "end"], events.Select(e => e.Type));
        Assert.Equal("succeeded", events[^1].Data);
        Assert.Equal("[\"done #1\"]", events[^2].Data);
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public void ReadingTheSameStateAgainSendsNothing()
    {
        foreach (var state in Life)
        {
            var (_, seen) = StreamEvents.After(state, null);
            var (again, after) = StreamEvents.After(state, seen);
            Assert.Empty(again);
            Assert.Equal(seen, after);
        }
    }

    [Fact]
    public void ResumingFromAnyEventSendsExactlyTheRestOfTheCurrentState()
    {
        // The client saw events up to each point of the life, then resumed on a later state.
        var all = Follow(Life);
        for (var at = 0; at < Life.Length; at++)
        {
            var seenEvents = Follow(Life[..(at + 1)]);
            for (var now = at; now < Life.Length; now++)
            {
                var (rest, _) = StreamEvents.After(Life[now], StreamEvents.Cursor.Parse(seenEvents[^1].Id));
                var current = Follow(Life[now]);
                // What it has not seen of the current state: all of it when the state changed,
                // else only what came after its last event (an id names what the event said of the state).
                var expected = current.Where(e => seenEvents.All(s => s.Id != e.Id)).ToList();
                Assert.Equal(expected, rest.Select(i => (i.EventType, i.EventId!, i.Data)));
                Assert.DoesNotContain(rest, i => seenEvents.Any(s => s.Id == i.EventId));
            }
        }
        // Having seen the end, nothing is left.
        Assert.Empty(StreamEvents.After(Life[^1], StreamEvents.Cursor.Parse(all[^1].Id)).Events);
    }

    [Fact]
    public void AStatusSeenWithoutItsProgressGetsTheProgressOnResume()
    {
        var running = Life[2];
        var (first, _) = StreamEvents.After(running, null);
        Assert.Equal(["status", "progress"], first.Select(i => i.EventType));

        var (rest, _) = StreamEvents.After(running, StreamEvents.Cursor.Parse(first[0].EventId));
        Assert.Equal([first[1].EventId], rest.Select(i => i.EventId));
    }

    [Fact]
    public void ARetryIsANewStatusEvenWithTheSameStatusName()
    {
        var events = Follow(Row("running", 1), Row("queued", 1), Row("running", 2));
        Assert.Equal(3, events.Count(e => e.Type == "status"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("x.y.z")]
    [InlineData("0123456789abcdef.0.q")]
    [InlineData("0123456789ABCDEF.0.s")]
    [InlineData("0123456789abcdef.0.s.extra")]
    public void AnIdThatIsNotOursIsNoCursor(string? id) => Assert.Null(StreamEvents.Cursor.Parse(id));

    [Fact]
    public void TokensOpenTheirRequestUntilTheyExpire()
    {
        var provider = new EphemeralDataProtectionProvider();
        var options = Options.Create(new SwitchboardOptions { StreamTokenLifetime = TimeSpan.FromSeconds(1) });
        var tokens = new StreamTokens(provider, options);
        var id = new string('b', 32);
        var token = tokens.Issue(id, "user-1");

        Assert.Equal(("user-1", (IResult?)null), tokens.Check(token, id));
        Assert.Equal("stream_token_wrong_request", Code(tokens.Check(token, new string('c', 32)).Problem));
        Assert.Equal("invalid_stream_token", Code(new StreamTokens(new EphemeralDataProtectionProvider(), options).Check(token, id).Problem));
        Assert.Equal("invalid_stream_token", Code(tokens.Check(new string('A', 2000), id).Problem));
        Assert.Equal("invalid_stream_token", Code(tokens.Check("%%%", id).Problem));
        // A token of another Data Protection purpose (the panel's) does not open a stream.
        var otherPurpose = provider.CreateProtector("Switchboard.Panel").Protect($"{id}|user-1|{long.MaxValue}");
        Assert.Equal("invalid_stream_token", Code(tokens.Check(otherPurpose, id).Problem));
        Thread.Sleep(1100);
        Assert.Equal("stream_token_expired", Code(tokens.Check(token, id).Problem));
    }

    [Fact]
    public void TheTokenLifetimeIsAtMostADay()
    {
        Assert.Equal(TimeSpan.FromHours(24), new SwitchboardOptions().StreamTokenLifetime);
        foreach (var (lifetime, valid) in new[] { (TimeSpan.FromSeconds(1), true), (TimeSpan.FromHours(24), true), (TimeSpan.Zero, false), (TimeSpan.FromHours(25), false) })
        {
            var options = new SwitchboardOptions { StreamTokenLifetime = lifetime };
            var errors = new List<ValidationResult>();
            Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true));
        }
    }

    private static string? Code(IResult? problem) =>
        (problem as Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult)?.ProblemDetails.Extensions["code"]?.ToString();
}
