using System.Globalization;
using System.Text;
using Switchboard.Admin.Panel.Components;
using Switchboard.Admin.Panel.Components.Pages.Requests;
using Switchboard.Config;
using Switchboard.Audit;
using Switchboard.Credits;
using Switchboard.Storage;
using Switchboard.Users;
using static Switchboard.Admin.Panel.PanelForms;
using static Switchboard.Admin.Panel.PanelHtml;

namespace Switchboard.Admin.Panel;

/// <summary>
/// Users: the list and the "New user" form (its first API key shown once), and a user's page
/// with its balance, the grant/adjust form, its ledger and its keys (create one, shown once;
/// revoke one). The rules are <see cref="UserStore"/>'s and <see cref="CreditMoves"/>'s, the
/// same <c>/admin/api/users</c> and the CLI run. A full key is only ever in the response to
/// the POST that made it (never in a URL, a redirect or a log), and not cached.
/// </summary>
public static class UsersPage
{
    private const int LedgerRows = 100;

    private static readonly string[] NewUserFields = ["name", "password", "credits", "admin"];
    private static readonly string[] MoveFields = ["kind", "amount", "note"];

    public static RouteGroupBuilder MapUsersPage(this RouteGroupBuilder panel)
    {
        panel.MapGet("/users", (HttpContext http, Store store) => List(http, store));
        panel.MapPost("/users", Create);
        panel.MapGet("/users/{name}", (string name, HttpContext http, Store store) => Show(http, store, name));
        panel.MapPost("/users/{name}/credits", Move);
        panel.MapPost("/users/{name}/rename", Rename);
        panel.MapPost("/users/{name}/keys", CreateKey);
        panel.MapGet("/users/{name}/keys/{prefix}/revoke", ConfirmRevoke);
        panel.MapPost("/users/{name}/keys/{prefix}/revoke", Revoke);
        return panel;
    }

    public static string PathOf(string name) => "/admin/users/" + Uri.EscapeDataString(name);

    /// <summary>A user's page by name, or by id when the name (stored before the name rules) breaks them: '/' cannot be in a route value.</summary>
    private static string PathOf(string id, string name) => PathOf(UserNames.IsValid(name) ? name : id);

    private static IResult List(HttpContext http, Store store, NewUserForm? form = null, Dictionary<string, List<string>>? errors = null, int status = 200)
    {
        List<UserSummary> users;
        using (var connection = store.Open())
        {
            users = UserStore.List(connection);
        }
        var body = new StringBuilder();
        body.Append($"""<section class="card"><div class="card-head"><h2>Users</h2><span class="muted">{E(users.Count)} in all</span></div>""");
        body.Append("""<table data-test="users"><thead><tr><th>Name</th><th>Role</th><th class="num">Credits</th><th class="num">Active keys</th><th>Created (UTC)</th></tr></thead><tbody>""");
        foreach (var u in users)
        {
            body.Append($"""
                <tr><td><a href="{E(PathOf(u.Id, u.Name))}">{E(u.Name)}</a></td><td>{(u.IsAdmin ? Badge("admin", "info") : "<span class=\"muted\">user</span>")}{(u.DisabledAt is null ? "" : " " + Badge("disabled", "bad"))}</td>
                <td class="num">{E(u.Credits.ToString("N0", CultureInfo.InvariantCulture))}</td><td class="num">{E(u.ActiveKeys)}</td><td>{E(PanelPage.When(u.CreatedAt))}</td></tr>
                """);
        }
        if (users.Count == 0)
        {
            body.Append(EmptyRow(5, "No users yet."));
        }
        body.Append("</tbody></table></section>");
        form ??= new NewUserForm("", false, "", "");
        body.Append($"""
            <section class="card" id="new-user"><h2>New user</h2>{FormErrors(errors)}
            <form method="post" action="/admin/users" class="form" data-test="new-user">{Token(http)}
            {Field("Name", "name", form.Name, errors, extra: "required autocomplete=\"off\"")}
            {Field("Initial credits", "credits", form.Credits, errors, "Granted now, with a ledger row; 0 or more.", "number", "min=\"0\" step=\"1\" placeholder=\"0\"")}
            {Field("Password", "password", "", errors, "Required for an admin (admins log in here with it); optional otherwise.", "password", "autocomplete=\"new-password\"")}
            {Check("Admin (may use the panel and the admin API)", "admin", form.Admin)}
            <div class="wide actions"><button class="btn primary" type="submit">Create user</button>
            <span class="muted">Its first API key is shown once, on the next page.</span></div></form></section>
            """);
        return Frame(http, "Users", body.ToString(), status, """<a class="btn primary" href="#new-user">New user</a>""");
    }

    private sealed record NewUserForm(string Name, bool Admin, string Password, string Credits);

    private static async Task<IResult> Create(HttpContext http, Store store)
    {
        var f = await http.Request.ReadFormAsync();
        var form = new NewUserForm(f["name"].ToString(), f["admin"].ToString() == "true", f["password"].ToString(), f["credits"].ToString().Trim());
        var errors = new List<string>();
        long credits = 0;
        if (form.Credits.Length > 0 && !long.TryParse(form.Credits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out credits))
        {
            errors.Add("credits must be a whole number");
        }
        var password = form.Password.Length == 0 ? null : form.Password;
        errors.AddRange(UserStore.CheckNew(form.Name, form.Admin, password, credits));
        if (errors.Count > 0)
        {
            return List(http, store, form, ByField(errors, NewUserFields), 400);
        }
        UserInfo user;
        string key;
        try
        {
            var actor = AdminPanel.SignedIn(http);
            (user, key) = await store.WriteAsync(c => UserStore.CreateWithKey(c, form.Name, form.Admin, credits, password, actor));
        }
        catch (UserExistsException ex)
        {
            return List(http, store, form, ByField([$"name is taken: {ex.Message}"], NewUserFields), 400);
        }
        return Secret(http, "User created", $"{user.Name} was created{(user.IsAdmin ? " as an admin" : "")} with {user.Credits} credits. Its first API key:",
            key, PathOf(user.Id, user.Name), $"Open {user.Name}");
    }

    /// <summary>
    /// The one page a full key is ever on: the answer to the POST that made it, never cached;
    /// from then on only its prefix is shown anywhere.
    /// </summary>
    private static IResult Secret(HttpContext http, string title, string text, string key, string next, string nextLabel)
    {
        http.Response.Headers.CacheControl = "no-store";
        return Frame(http, title, $"""
            <section class="card confirm" data-test="new-key"><h2>{E(text)}</h2>
            <p class="secret" data-test="secret">{E(key)}</p>
            <p class="muted">Copy it now: it will not be shown again. The store keeps only its hash; listings show its prefix <code class="mono">{E(UserStore.KeyName(key))}</code>.</p>
            <p class="actions"><a class="btn primary" href="{E(next)}">{E(nextLabel)}</a></p></section>
            """);
    }

    private sealed record MoveForm(string Kind, string Amount, string Note);

    private static IResult Show(HttpContext http, Store store, string name, MoveForm? form = null, Dictionary<string, List<string>>? errors = null, int status = 200,
        Dictionary<string, List<string>>? renameErrors = null)
    {
        UserInfo? user;
        List<LedgerEntry> ledger;
        List<KeyInfo> keys;
        using (var connection = store.Open())
        {
            user = UserStore.Find(connection, name);
            if (user is null)
            {
                return NotFound(http, "No such user", $"No user is named '{name}'.", "/admin/users");
            }
            ledger = UserStore.Ledger(connection, user.Id, LedgerRows);
            keys = UserStore.Keys(connection, user.Id);
        }
        var path = PathOf(user.Id, user.Name);
        var body = new StringBuilder();
        body.Append($"""
            <section class="tiles user-tiles">
            <div class="tile"><span class="label">Balance</span><b data-test="balance">{E(user.Credits.ToString("N0", CultureInfo.InvariantCulture))}</b><small>credits</small></div>
            <div class="tile"><span class="label">Role</span><b>{E(user.IsAdmin ? "admin" : "user")}</b><small>{E(user.IsAdmin ? "may use the panel and the admin API" : "client API only")}</small></div>
            <div class="tile"><span class="label">Active keys</span><b>{E(keys.Count(k => k.Active))}</b><small>{E(keys.Count(k => !k.Active))} revoked</small></div>
            </section>
            """);
        form ??= new MoveForm(CreditMoves.Grant, "", "");
        body.Append($"""
            <div class="grid2 users-grid"><section class="card"><h2>Grant or adjust credits</h2>{FormErrors(errors)}
            <form method="post" action="{E(path)}/credits" class="form" data-test="credits">{Token(http)}
            {Select("Kind", "kind", [(CreditMoves.Grant, "Grant: add credits"), (CreditMoves.Adjust, "Adjust: up or down")], form.Kind, errors)}
            {Field("Amount", "amount", form.Amount, errors, "An adjustment may be negative, and needs a note.", "number", "step=\"1\" required")}
            <div class="wide">{Field("Note", "note", form.Note, errors, "Why: kept in the ledger with your name.", extra: $"maxlength=\"{CreditMoves.MaxNoteLength}\"")}</div>
            <div class="wide actions"><button class="btn primary" type="submit">Move credits</button></div></form></section>
            <section class="card"><div class="card-head"><h2>API keys</h2>{Button(http, $"{path}/keys", "Create API key", "primary")}</div>
            <table data-test="keys"><thead><tr><th>Prefix</th><th>Created (UTC)</th><th>Status</th><th></th></tr></thead><tbody>
            """);
        foreach (var k in keys)
        {
            var revoke = k.Active ? DangerLink($"{path}/keys/{Uri.EscapeDataString(k.Prefix)}/revoke", "Revoke") : "";
            body.Append($"""
                <tr><td><code class="mono">{E(k.Prefix)}…</code></td><td>{E(PanelPage.When(k.CreatedAt))}</td>
                <td>{(k.Active ? Badge("active") : Badge("revoked"))}{(k.RevokedAt is { } at ? $" <small class=\"muted\">{E(PanelPage.When(at))}</small>" : "")}</td>
                <td><div class="row-actions">{revoke}</div></td></tr>
                """);
        }
        if (keys.Count == 0)
        {
            body.Append(EmptyRow(4, "No keys."));
        }
        body.Append("</tbody></table></section></div>");

        body.Append($"""
            <section class="card"><div class="card-head"><h2>Ledger</h2><span class="muted">newest first{(ledger.Count == LedgerRows ? $", the last {LedgerRows}" : "")}</span></div>
            <table data-test="ledger"><thead><tr><th>Time (UTC)</th><th>Kind</th><th class="num">Amount</th><th class="num">Balance after</th><th>Request</th><th class="num">Run</th><th>Note</th><th>Actor</th></tr></thead><tbody>
            """);
        // Newest first: the balance after each row is the balance now less the rows after it.
        var after = user.Credits;
        foreach (var e in ledger)
        {
            var request = e.RequestId is null ? "" : $"""<a class="mono" href="{E(RequestLinks.PathOf(e.RequestId))}">{E(RequestLinks.Short(e.RequestId))}</a>""";
            body.Append($"""
                <tr><td>{E(PanelPage.When(e.CreatedAt))}</td><td>{Badge(e.Kind, e.Kind switch { "grant" or "refund" => "ok", "charge" => "info", _ => "" })}</td>
                <td class="num">{E(e.Amount.ToString("+#,0;-#,0;0", CultureInfo.InvariantCulture))}</td><td class="num">{E(after.ToString("N0", CultureInfo.InvariantCulture))}</td>
                <td>{request}</td><td class="num">{E(e.Run)}</td><td>{E(e.Note)}</td><td>{E(e.Actor)}</td></tr>
                """);
            after -= e.Amount;
        }
        if (ledger.Count == 0)
        {
            body.Append(EmptyRow(8, "No ledger entries yet."));
        }
        body.Append("</tbody></table></section>");
        body.Append($"""
            <section class="card"><h2>Rename</h2>{FormErrors(renameErrors)}
            <form method="post" action="{E(path)}/rename" class="form" data-test="rename">{Token(http)}
            {Field("New name", "new_name", "", renameErrors, $"1-{UserNames.MaxLength} of A-Z a-z 0-9 . _ @ + -, a letter or digit at each end. Keys, credits and the ledger stay with the user.", extra: "required autocomplete=\"off\"")}
            <div class="wide actions"><button class="btn" type="submit">Rename user</button></div></form></section>
            """);
        return Frame(http, $"User {user.Name}", body.ToString(), status, """<a class="btn ghost" href="/admin/users">All users</a>""");
    }

    private static async Task<IResult> Move(string name, HttpContext http, Store store)
    {
        var f = await http.Request.ReadFormAsync();
        var form = new MoveForm(f["kind"].ToString(), f["amount"].ToString().Trim(), f["note"].ToString());
        var note = string.IsNullOrWhiteSpace(form.Note) ? null : form.Note.Trim();
        if (!long.TryParse(form.Amount, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var amount))
        {
            return Show(http, store, name, form, ByField(["amount must be a whole number of credits"], MoveFields), 400);
        }
        try
        {
            CreditMoves.Validate(form.Kind, amount, note);
            var actor = AdminPanel.SignedIn(http);
            var move = await store.WriteAsync(c => CreditMoves.Apply(c, name, form.Kind, amount, note, actor));
            return Done(PathOf(move.User.Id, move.User.Name), "credits");
        }
        catch (CreditMoveException ex) when (ex.Code != "user_not_found")
        {
            var field = ex.Code switch { "invalid_kind" => "kind", "note_required" or "invalid_note" => "note", _ => "amount" };
            return Show(http, store, name, form, new Dictionary<string, List<string>> { [field] = [ex.Message] }, 400);
        }
        catch (CreditMoveException)
        {
            return NotFound(http, "No such user", $"No user is named '{name}'.", "/admin/users");
        }
    }

    /// <summary>The rename form: the same rule as the API and the CLI (<see cref="UserStore.Rename"/>).</summary>
    private static async Task<IResult> Rename(string name, HttpContext http, Store store)
    {
        var f = await http.Request.ReadFormAsync();
        var newName = f["new_name"].ToString();
        try
        {
            if (await store.WriteAsync(c => UserStore.Rename(c, name, newName)) is not { } before)
            {
                return NotFound(http, "No such user", $"No user is named '{name}'.", "/admin/users");
            }
            return Done(PathOf(before.Id, newName), "renamed");
        }
        catch (ArgumentException ex)
        {
            // A broken rule, or a taken name (UserExistsException): nothing was changed.
            var message = ex is UserExistsException ? $"name is taken: {ex.Message}" : ex.Message;
            return Show(http, store, name, status: 400, renameErrors: new Dictionary<string, List<string>> { ["new_name"] = [message] });
        }
    }

    private static async Task<IResult> CreateKey(string name, HttpContext http, Store store)
    {
        var created = await store.WriteAsync(c => UserStore.Find(c, name) is { } user ? (User: user, Key: UserStore.CreateKey(c, user.Id)) : default);
        if (created.User is null)
        {
            return NotFound(http, "No such user", $"No user is named '{name}'.", "/admin/users");
        }
        return Secret(http, "API key created", $"A new API key for {created.User.Name}:", created.Key, PathOf(created.User.Id, created.User.Name), $"Back to {created.User.Name}");
    }

    /// <summary>The key, if it is an active key of this user (a prefix of another user's key is not found here).</summary>
    private static (UserInfo? User, KeyInfo? Key) KeyOf(Store store, string name, string prefix)
    {
        using var connection = store.Open();
        var user = UserStore.Find(connection, name);
        var key = user is null ? null : UserStore.Keys(connection, user.Id).FirstOrDefault(k => k.Prefix == prefix && k.Active);
        return (user, key);
    }

    private static IResult ConfirmRevoke(string name, string prefix, HttpContext http, Store store)
    {
        if (KeyOf(store, name, prefix) is not ({ } user, { } key))
        {
            return NotFound(http, "No such key", $"'{name}' has no active key with the prefix '{prefix}'.", "/admin/users");
        }
        var path = PathOf(user.Id, user.Name);
        return Confirm(http, "Revoke API key", $"Revoke the key {key.Prefix}… of {user.Name}?",
            $"{path}/keys/{Uri.EscapeDataString(key.Prefix)}/revoke", "Revoke key", path,
            "<p>Anything using this key is refused (401) from the next request that reaches a server after its store poll. This cannot be undone: make a new key instead.</p>");
    }

    private static async Task<IResult> Revoke(string name, string prefix, HttpContext http, Store store)
    {
        var f = await http.Request.ReadFormAsync();
        if (KeyOf(store, name, prefix) is not ({ } user, { } key))
        {
            return NotFound(http, "No such key", $"'{name}' has no active key with the prefix '{prefix}'.", "/admin/users");
        }
        if (f["confirm"].ToString() != "yes")
        {
            AuditFilters.NothingDone(http);
            return ConfirmRevoke(name, prefix, http, store);
        }
        await store.WriteAsync(c => UserStore.RevokeKey(c, key.Prefix));
        return Done(PathOf(user.Id, user.Name), "revoked");
    }
}
