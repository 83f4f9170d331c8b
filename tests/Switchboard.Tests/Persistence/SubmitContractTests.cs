using Switchboard.Credits;
using Switchboard.Requests;
using Switchboard.Users;

namespace Switchboard.Tests.Persistence;

/// <summary>
/// Many submissions in the same group commit (on PostgreSQL: one statement for all of them):
/// each is stored and charged exactly once, or refused with nothing stored, whatever else is in
/// the group.
/// </summary>
public abstract class SubmitContractTests(StoreKind kind) : AppTests
{
    // The credits audit after each test (TestApp) checks every balance against its ledger.
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(kind);

    private UserInfo User(string name, long credits) => App.Store.Store.Write(c => UserStore.Create(c, name, false, credits, null));

    private static NewRequest Request(UserInfo user, string id, long price) =>
        new(id, user.Id, "text", "shout", "echo.render", "{\"word\":\"" + id + "\"}", "Say " + id, "{}", 1, null, price, 3);

    private async Task<(int Created, int Refused, int Existing)> SubmitAll(IEnumerable<NewRequest> requests)
    {
        var outcomes = await Task.WhenAll(requests.Select(async r =>
        {
            try
            {
                return (await RequestStore.SubmitAsync(App.Store.Store, r, Clock.NowMs())).Outcome switch
                {
                    SubmitOutcome.Created => "created",
                    SubmitOutcome.Existing => "existing",
                    var other => other.ToString(),
                };
            }
            catch (InsufficientCreditsException)
            {
                return "refused";
            }
        }));
        return (outcomes.Count(o => o == "created"), outcomes.Count(o => o == "refused"), outcomes.Count(o => o == "existing"));
    }

    [Fact]
    public async Task AUserShortForTheWholeGroupIsChargedOneByOneUntilTheBalanceRunsOut()
    {
        var poor = User("poor", 100);
        var rich = User("rich", 1_000_000);
        var requests = Enumerable.Range(0, 40).Select(i => Request(poor, $"p{i:D30}", 5))
            .Concat(Enumerable.Range(0, 40).Select(i => Request(rich, $"r{i:D30}", 7)));

        var (created, refused, existing) = await SubmitAll(requests);

        Assert.Equal(20 + 40, created);
        Assert.Equal(20, refused);
        Assert.Equal(0, existing);
        Assert.Equal(0, Ledger.Balance(App.Store, poor.Id));
        Assert.Equal(1_000_000 - (40 * 7), Ledger.Balance(App.Store, rich.Id));
        Assert.Equal(60, Ledger.RequestCount(App.Store));
    }

    [Fact]
    public async Task TheSameIdManyTimesInOneGroupIsStoredAndChargedOnce()
    {
        var user = User("alice", 1000);
        var id = new string('a', 32);

        var (created, refused, existing) = await SubmitAll(Enumerable.Repeat(Request(user, id, 9), 25));

        Assert.Equal(1, created);
        Assert.Equal(0, refused);
        Assert.Equal(24, existing);
        Assert.Equal(1, Ledger.Count(App.Store, "charge", id));
        Assert.Equal(1000 - 9, Ledger.Balance(App.Store, user.Id));
    }

    [Fact]
    public async Task FreeRequestsAreStoredWithoutALedgerRow()
    {
        var user = User("bob", 0);

        var (created, _, _) = await SubmitAll(Enumerable.Range(0, 10).Select(i => Request(user, $"f{i:D31}", 0)));

        Assert.Equal(10, created);
        Assert.Equal(0, App.Store.Query(c => c.Scalar<long>("SELECT COUNT(*) FROM ledger WHERE kind = 'charge'")));
    }
}

public sealed class SubmitContractOnSqlite() : SubmitContractTests(StoreKind.Sqlite);

public sealed class SubmitContractOnPostgres() : SubmitContractTests(StoreKind.Postgres);
