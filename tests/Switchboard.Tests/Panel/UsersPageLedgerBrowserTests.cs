using System.Globalization;
using Microsoft.Playwright;
using Switchboard.Admin.Panel.Components.Pages.Users;
using Switchboard.Users;

namespace Switchboard.Tests.Panel;

/// <summary>
/// One <c>switchboard serve</c> (SQLite) for the user page's ledger, spend chart, access and
/// hostile-form tests: gus spends through <c>/svc</c> (a success, and a failure charged then
/// refunded); hal has more ledger rows than a page holds, kit more than two pages of the CSV.
/// </summary>
public sealed class UsersLedgerPanelServe : PanelServe
{
    public const int HalGrants = 130;

    /// <summary>Two pages of the ledger CSV and a part of a third.</summary>
    public const int KitGrants = 2 * LedgerCsv.PageRows + 7;

    protected override async Task PrepareAsync()
    {
        await AdminAndEchoCatalogAsync("", ("gus", 100), ("ida", 10), ("jo", 10), ("hal", 0), ("kit", 0));
        await Store.Store.WriteAsync(c =>
        {
            for (var i = 1; i <= HalGrants; i++)
            {
                CreditMoves.Apply(c, "hal", CreditMoves.Grant, i, $"grant {i}", "root");
            }
            for (var i = 1; i <= KitGrants; i++)
            {
                CreditMoves.Apply(c, "kit", CreditMoves.Grant, i, $"kit {i}", "root");
            }
            // All of kit's rows at one millisecond: the CSV's page boundaries cannot lean on the time.
            return c.Execute("UPDATE ledger SET created_at = 1700000000000 WHERE user_id = (SELECT id FROM users WHERE name = 'kit')");
        });
    }
}

/// <summary>
/// A user's page beyond its forms: the ledger paged and exported as CSV (rows equal to the
/// store's, formula cells disarmed), the chart of credits spent per day (its numbers the
/// store's), disable/enable and admin rights through their confirmations, a hostile value in
/// every field type shown as text, and forms without their antiforgery token refused.
/// </summary>
public sealed class UsersPageLedgerBrowserTests(Chromium chromium, UsersLedgerPanelServe fixture) : IClassFixture<Chromium>, IClassFixture<UsersLedgerPanelServe>
{
    private const string Hostile = "<img src=x onerror=alert(1)>";
    private const string Script = "<script>alert(2)</script>";

    private SwitchboardProcess Serve => fixture.Serve;

    private Task<IPage> Admin() => PanelSession.AdminPage(chromium, Serve, "root");

    private long Count(string sql, params (string, object?)[] args) => fixture.Store.Query(c => c.Scalar<long>(sql, args));

    private Task<string> Submit(string user, string path, object body, params string[] statuses) => fixture.Submit(user, path, body, statuses);

    private async Task<int> Me(string user)
    {
        using var client = Serve.Client(fixture.Users[user].Key);
        return (int)(await client.GetAsync("/svc/me/")).StatusCode;
    }

    /// <summary>The store's ledger of a user, newest first: (kind, amount, request id, run, note, actor).</summary>
    private List<string[]> StoreLedger(string user) => fixture.Store.Query(c =>
    {
        using var command = c.Sql(
            "SELECT l.kind, l.amount, l.request_id, l.run, l.note, l.actor, l.created_at FROM ledger l JOIN users u ON u.id = l.user_id WHERE u.name = @n ORDER BY l.id DESC",
            ("@n", user));
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            rows.Add([reader.GetString(0), reader.GetInt64(1).ToString(CultureInfo.InvariantCulture), reader.StringOrNull(2) ?? "",
                reader.IsDBNull(3) ? "" : reader.GetInt64(3).ToString(CultureInfo.InvariantCulture), reader.StringOrNull(4) ?? "", reader.StringOrNull(5) ?? "",
                reader.GetInt64(6).ToString(CultureInfo.InvariantCulture)]);
        }
        return rows;
    });

    private long Balance(string user) => Count("SELECT credits FROM users WHERE name = @n", ("@n", user));

    [Fact]
    public async Task TheLedgerCsvHoldsTheStoresRowsWithFormulasDisarmed()
    {
        var succeeded = await Submit("gus", "/svc/text/shout/", new { word = "hi" }, "succeeded");
        await Submit("gus", "/svc/text/broken/", new { thing = "x" }, "failed");
        var page = await Admin();
        await Chromium.Scenario(page, nameof(TheLedgerCsvHoldsTheStoresRowsWithFormulasDisarmed), async () =>
        {
            // Notes a spreadsheet would run as formulas, and one that needs quoting.
            foreach (var note in new[] { "=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "@SUM(A1)", "say \"hi\", then\nleave" })
            {
                await page.GotoAsync("/admin/users/gus");
                await page.FillAsync("form[data-test=credits] input[name=amount]", "1");
                await page.EvaluateAsync("n => document.querySelector('form[data-test=credits] input[name=note]').value = n", note);
                await page.ClickAsync("form[data-test=credits] button[type=submit]");
                await Chromium.Arrive(page, "**/admin/users/gus?done=credits");
            }
            Assert.Equal("/admin/users/gus/ledger.csv", await page.GetAttributeAsync("[data-test=ledger-csv]", "href"));
            var response = await page.APIRequest.GetAsync("/admin/users/gus/ledger.csv");
            Assert.Equal(200, response.Status);
            Assert.Equal("text/csv; charset=utf-8", response.Headers["content-type"]);
            Assert.Equal("attachment; filename=\"ledger-gus.csv\"", response.Headers["content-disposition"]);
            var csv = await response.TextAsync();
            Assert.Contains("'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")", csv, StringComparison.Ordinal);
            var rows = CsvRecords.Parse(csv);
            Assert.Equal(["time_utc", "kind", "amount", "balance_after", "request_id", "run", "note", "actor"], rows[0]);

            var store = StoreLedger("gus");
            var after = AssertRowsAreTheStores(store, rows, Balance("gus"));
            Assert.Equal(0, after); // gus started from nothing: the oldest row's balance after is its own amount.
            Assert.Contains(rows, r => r[1] == "charge" && r[2] == "-5" && r[4] == succeeded);
            Assert.Equal(2, rows.Count(r => r[1] == "charge"));
            Assert.Single(rows, r => r[1] == "refund" && r[2] == "4");

            Assert.Equal(404, (await page.APIRequest.GetAsync("/admin/users/nobody/ledger.csv")).Status);
        });
    }

    /// <summary>
    /// Checks the CSV's rows (after its header) against the store's ledger, newest first, one for
    /// one, with each balance after its row counted down from <paramref name="balance"/>; returns
    /// the balance before the oldest row.
    /// </summary>
    private static long AssertRowsAreTheStores(List<string[]> store, List<string[]> rows, long balance)
    {
        Assert.Equal(store.Count, rows.Count - 1);
        Assert.Equal(balance, rows.Skip(1).Sum(r => long.Parse(r[2], CultureInfo.InvariantCulture))); // Every credit of the balance has its row.
        var after = balance;
        for (var i = 0; i < store.Count; i++)
        {
            var (row, s) = (rows[i + 1], store[i]);
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(s[6], CultureInfo.InvariantCulture)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), row[0]);
            Assert.Equal(s[0], row[1]);
            Assert.Equal(s[1], row[2]);
            Assert.Equal(after.ToString(CultureInfo.InvariantCulture), row[3]);
            Assert.Equal(s[2], row[4]);
            Assert.Equal(s[3], row[5]);
            Assert.Equal(s[4] is [ '=' or '+' or '-' or '@', ..] ? "'" + s[4] : s[4], row[6]);
            Assert.Equal(s[5], row[7]);
            after -= long.Parse(s[1], CultureInfo.InvariantCulture);
        }
        return after;
    }

    [Fact]
    public async Task TheLedgerCsvOfMorePagesThanOneHasEachRowOnceWithItsBalance()
    {
        var page = await Admin();
        await Chromium.Scenario(page, nameof(TheLedgerCsvOfMorePagesThanOneHasEachRowOnceWithItsBalance), async () =>
        {
            var response = await page.APIRequest.GetAsync("/admin/users/kit/ledger.csv");
            Assert.Equal(200, response.Status);
            var rows = CsvRecords.Parse(await response.TextAsync());
            Assert.Equal(LedgerCsv.Header.Split(','), rows[0]);
            // Read by pages: every row once (the notes are unique), newest first, across boundaries of one millisecond.
            Assert.Equal(Enumerable.Range(1, UsersLedgerPanelServe.KitGrants).Reverse().Select(i => $"kit {i}"), rows.Skip(1).Select(r => r[6]));
            Assert.Equal(0, AssertRowsAreTheStores(StoreLedger("kit"), rows, Balance("kit")));
        });
    }

    [Fact]
    public async Task TheLedgerIsPagedWithItsBalanceAfterEachRow()
    {
        var page = await Admin();
        await Chromium.Scenario(page, nameof(TheLedgerIsPagedWithItsBalanceAfterEachRow), async () =>
        {
            const long total = UsersLedgerPanelServe.HalGrants * (UsersLedgerPanelServe.HalGrants + 1) / 2;
            await page.GotoAsync("/admin/users/hal");
            var first = page.Locator("table[data-test=ledger] tbody tr");
            Assert.Equal(100, await first.CountAsync());
            Assert.Contains($"+{UsersLedgerPanelServe.HalGrants}", await first.First.InnerTextAsync());
            Assert.Contains(total.ToString("N0", CultureInfo.InvariantCulture), await first.First.InnerTextAsync());
            await page.ClickAsync("[data-test=older]");
            var older = page.Locator("table[data-test=ledger] tbody tr");
            Assert.Equal(UsersLedgerPanelServe.HalGrants - 100, await older.CountAsync());
            Assert.Contains($"grant {UsersLedgerPanelServe.HalGrants - 100}", await older.First.InnerTextAsync());
            var last = (await older.Last.Locator("td").AllInnerTextsAsync()).ToList();
            Assert.Equal(["+1", "1", "grant 1", "root"], [last[2], last[3], last[6], last[7]]);
            Assert.Equal(0, await page.Locator("[data-test=older]").CountAsync());
            var csv = await (await page.APIRequest.GetAsync("/admin/users/hal/ledger.csv")).TextAsync();
            Assert.Equal(UsersLedgerPanelServe.HalGrants + 1, csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        });
    }

    [Fact]
    public async Task TheSpendChartShowsTheStoresChargesLessRefundsPerDay()
    {
        await Submit("ida", "/svc/text/shout/", new { word = "a" }, "succeeded");
        await Submit("ida", "/svc/text/broken/", new { thing = "b" }, "failed");
        var older = await Submit("ida", "/svc/text/shout/", new { word = "c" }, "succeeded");
        // That request's charge as if made three days ago (its row's time only).
        var threeDaysAgo = DateTimeOffset.UtcNow.AddDays(-3).ToUnixTimeMilliseconds();
        fixture.Store.Store.Write(c => c.Execute("UPDATE ledger SET created_at = @t WHERE request_id = @r", ("@t", threeDaysAgo), ("@r", older)));

        var page = await Admin();
        await Chromium.Scenario(page, nameof(TheSpendChartShowsTheStoresChargesLessRefundsPerDay), async () =>
        {
            await page.GotoAsync("/admin/users/ida");
            var titles = await page.Locator("section[data-test=spend] svg g title").AllTextContentsAsync();
            Assert.Equal(30, titles.Count);
            // The store's numbers, summed here by UTC day from its ledger rows.
            var today = DateOnly.FromDateTime(DateTime.UtcNow);
            var byDay = StoreLedger("ida").Where(r => r[0] is "charge" or "refund")
                .GroupBy(r => DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(r[6], CultureInfo.InvariantCulture)).UtcDateTime))
                .ToDictionary(g => g.Key, g => -g.Sum(r => long.Parse(r[1], CultureInfo.InvariantCulture)));
            var expected = Enumerable.Range(0, 30).Select(i => today.AddDays(i - 29))
                .Select(d => $"{d:yyyy-MM-dd}: {byDay.GetValueOrDefault(d)} credits spent").ToList();
            Assert.Equal(expected, titles);
            Assert.Equal("5 credits spent", titles[^1].Split(": ")[1]); // 5 + 4 charged, 4 refunded.
            Assert.Equal("5 credits spent", titles[^4].Split(": ")[1]);
            Assert.Contains("10 in all", await page.Locator("section[data-test=spend] .card-head").InnerTextAsync());
            await PanelSession.Screenshot(page, "user-spend");
        });
    }

    [Fact]
    public async Task AUserIsDisabledAndEnabledAndTheLastAdminKept()
    {
        var page = await Admin();
        await Chromium.Scenario(page, nameof(AUserIsDisabledAndEnabledAndTheLastAdminKept), async () =>
        {
            Assert.Equal(200, await Me("jo"));
            await page.GotoAsync("/admin/users/jo");
            await page.ClickAsync("[data-test=access] a:text-is('Disable')");
            Assert.Contains("Disable jo?", await page.Locator(".confirm h2").InnerTextAsync());
            Assert.Equal(0, Count("SELECT COUNT(*) FROM users WHERE name = 'jo' AND disabled_at IS NOT NULL")); // The GET changed nothing.
            await PanelSession.Screenshot(page, "user-disable-confirm");
            await page.ClickAsync("[data-test=confirm]");
            await Chromium.Arrive(page, "**/admin/users/jo?done=disabled");
            Assert.Contains("disabled", await page.Locator("[data-test=access]").InnerTextAsync());
            await Wait.ForValue(() => Me("jo"), 401, TimeSpan.FromSeconds(10), "a disabled user's key on /svc/me/");

            await page.ClickAsync("[data-test=access] a:text-is('Enable')");
            await page.ClickAsync("[data-test=confirm]");
            await Chromium.Arrive(page, "**/admin/users/jo?done=enabled");
            await Wait.ForValue(() => Me("jo"), 200, TimeSpan.FromSeconds(10), "an enabled user's key on /svc/me/");

            // root is the only admin: taking its rights away is refused, nothing changed.
            await page.GotoAsync("/admin/users/root/remove-admin");
            var refused = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("[data-test=confirm]"), r => r.Request.Method == "POST");
            Assert.Equal(409, refused.Status);
            Assert.Contains("last enabled admin", await page.Locator("[data-test=refused]").InnerTextAsync());
            Assert.Equal(1, Count("SELECT is_admin FROM users WHERE name = 'root'"));

            await page.GotoAsync("/admin/users/jo/grant-admin");
            await page.ClickAsync("[data-test=confirm]");
            await Chromium.Arrive(page, "**/admin/users/jo?done=madeadmin");
            Assert.Equal(1, Count("SELECT is_admin FROM users WHERE name = 'jo'"));
            await page.ClickAsync("[data-test=access] a:text-is('Remove admin')");
            await page.ClickAsync("[data-test=confirm]");
            await Chromium.Arrive(page, "**/admin/users/jo?done=notadmin");
            Assert.Equal(0, Count("SELECT is_admin FROM users WHERE name = 'jo'"));
        });
    }

    [Fact]
    public async Task AHostileValueInEveryFieldIsShownAsText()
    {
        var page = await Admin();
        var dialogs = ScriptDialogs.On(page);
        await Chromium.Scenario(page, nameof(AHostileValueInEveryFieldIsShownAsText), async () =>
        {
            var users = Count("SELECT COUNT(*) FROM users");
            // New user: text, number, password and checkbox fields, each hostile.
            await page.GotoAsync("/admin/users");
            await page.EvaluateAsync("document.querySelector('form[data-test=new-user]').noValidate = true");
            await page.EvaluateAsync("document.querySelector('form[data-test=new-user] input[name=credits]').type = 'text'");
            await page.EvaluateAsync("v => document.querySelector('form[data-test=new-user] input[name=admin]').value = v", Script);
            await page.FillAsync("form[data-test=new-user] input[name=name]", Hostile);
            await page.FillAsync("form[data-test=new-user] input[name=credits]", Script);
            await page.FillAsync("form[data-test=new-user] input[name=password]", Hostile);
            await page.CheckAsync("form[data-test=new-user] input[name=admin]");
            var refused = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("form[data-test=new-user] button[type=submit]"), r => r.Request.Method == "POST");
            Assert.Equal(400, refused.Status);
            Assert.Equal(Hostile, await page.InputValueAsync("form[data-test=new-user] input[name=name]"));
            // A number input shows no text, but the value sent back is the attribute, as text.
            Assert.Equal(Script, await page.GetAttributeAsync("form[data-test=new-user] input[name=credits]", "value"));
            Assert.Contains("whole number", await page.Locator("[data-field-error=credits]").InnerTextAsync());
            Assert.DoesNotContain(Hostile, await page.InputValueAsync("form[data-test=new-user] input[name=password]"));
            Assert.Equal(users, Count("SELECT COUNT(*) FROM users"));

            // Credits: a select, a number and a text field.
            await page.GotoAsync("/admin/users/gus");
            await page.EvaluateAsync("document.querySelector('form[data-test=credits]').noValidate = true");
            await page.EvaluateAsync("document.querySelector('form[data-test=credits] input[name=amount]').type = 'text'");
            await page.FillAsync("form[data-test=credits] input[name=amount]", Hostile);
            var badAmount = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("form[data-test=credits] button[type=submit]"), r => r.Request.Method == "POST");
            Assert.Equal(400, badAmount.Status);
            Assert.Equal(Hostile, await page.GetAttributeAsync("form[data-test=credits] input[name=amount]", "value"));
            await page.EvaluateAsync("v => document.querySelector('form[data-test=credits] select[name=kind] option').value = v", Script);
            await page.FillAsync("form[data-test=credits] input[name=amount]", "2");
            await page.FillAsync("form[data-test=credits] input[name=note]", Hostile);
            var badKind = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("form[data-test=credits] button[type=submit]"), r => r.Request.Method == "POST");
            Assert.Equal(400, badKind.Status);
            Assert.Contains("kind must be", await page.Locator("[data-field-error=kind]").InnerTextAsync());
            Assert.Equal(Hostile, await page.InputValueAsync("form[data-test=credits] input[name=note]"));
            // Accepted: the hostile note is in the ledger, as text.
            await page.SelectOptionAsync("form[data-test=credits] select[name=kind]", "grant");
            await page.FillAsync("form[data-test=credits] input[name=note]", Hostile + Script);
            await page.ClickAsync("form[data-test=credits] button[type=submit]");
            await Chromium.Arrive(page, "**/admin/users/gus?done=credits");
            Assert.Contains(Hostile + Script, await page.Locator("table[data-test=ledger] tbody tr").First.InnerTextAsync());

            // Rename: a text field; the confirmation's hidden field.
            await page.FillAsync("form[data-test=rename] input[name=new_name]", Hostile);
            var badName = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("form[data-test=rename] button[type=submit]"), r => r.Request.Method == "POST");
            Assert.Equal(400, badName.Status);
            Assert.Contains("may hold only", await page.Locator("[data-field-error=new_name]").InnerTextAsync());
            await page.GotoAsync("/admin/users/gus/disable");
            await page.EvaluateAsync("v => document.querySelector('.confirm input[name=confirm]').value = v", Hostile);
            await page.ClickAsync("[data-test=confirm]");
            Assert.Contains("Disable gus?", await page.Locator(".confirm h2").InnerTextAsync());
            Assert.Equal(0, Count("SELECT COUNT(*) FROM users WHERE name = 'gus' AND disabled_at IS NOT NULL"));

            Assert.Equal(0, await page.Locator("main img, main script").CountAsync());
            Assert.Equal(0, dialogs.Count);
        });
    }

    [Fact]
    public async Task FormsWithoutTheirAntiforgeryTokenChangeNothing()
    {
        var page = await Admin();
        await Chromium.Scenario(page, nameof(FormsWithoutTheirAntiforgeryTokenChangeNothing), async () =>
        {
            await page.GotoAsync("/admin/users/hal");
            var prefix = (await page.Locator("table[data-test=keys] code").First.InnerTextAsync()).TrimEnd('…');
            var before = (Ledger: Count("SELECT COUNT(*) FROM ledger"), Keys: Count("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL"),
                Users: Count("SELECT COUNT(*) FROM users"), Balance: Balance("hal"));
            var posts = new (string Path, Dictionary<string, string> Form)[]
            {
                ("/admin/users", new() { ["name"] = "mallory", ["credits"] = "5" }),
                ("/admin/users/hal/credits", new() { ["kind"] = "grant", ["amount"] = "5", ["note"] = "forged" }),
                ("/admin/users/hal/keys", []),
                ("/admin/users/hal/rename", new() { ["new_name"] = "forged" }),
                ($"/admin/users/hal/keys/{prefix}/revoke", new() { ["confirm"] = "yes" }),
                ("/admin/users/hal/disable", new() { ["confirm"] = "yes" }),
                ("/admin/users/hal/grant-admin", new() { ["confirm"] = "yes" }),
            };
            foreach (var (path, form) in posts)
            {
                var data = page.APIRequest.CreateFormData();
                foreach (var (k, v) in form)
                {
                    data.Set(k, v);
                }
                var response = await page.APIRequest.PostAsync(path, new APIRequestContextOptions { Form = data, MaxRedirects = 0 });
                Assert.True(response.Status == 400, $"{path}: {response.Status}");
                Assert.Contains("nothing was changed", await response.TextAsync());
            }
            Assert.Equal(before, (Count("SELECT COUNT(*) FROM ledger"), Count("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL"), Count("SELECT COUNT(*) FROM users"), Balance("hal")));
            Assert.Equal(0, Count("SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL OR (is_admin = 1 AND name <> 'root')"));
        });
    }
}
