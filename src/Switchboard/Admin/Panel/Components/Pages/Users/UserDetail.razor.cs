using System.Globalization;
using Microsoft.AspNetCore.Components;
using Switchboard.Users;

namespace Switchboard.Admin.Panel.Components.Pages.Users;

/// <summary>The user page's data and its forms' handlers (see UserDetail.razor).</summary>
public sealed partial class UserDetail
{
    private const int LedgerRows = 100;
    private const int SpendDays = 30;

    private static readonly IReadOnlyList<(string, string)> Kinds = [(CreditMoves.Grant, "Grant: add credits"), (CreditMoves.Adjust, "Adjust: up or down")];
    private static readonly IReadOnlyList<string> SpendClasses = ["spent"];

    [Parameter] public string Name { get; set; } = "";

    [SupplyParameterFromForm(FormName = "credits", Name = "")] private MoveForm? MoveInput { get; set; }
    [SupplyParameterFromForm(FormName = "rename", Name = "")] private RenameForm? RenameInput { get; set; }
    [SupplyParameterFromForm(FormName = "scheduling", Name = "")] private SchedulingForm? SchedulingInput { get; set; }
    [SupplyParameterFromForm(FormName = "keys", Name = "")] private KeyForm? KeyInput { get; set; }

    private static readonly IReadOnlyList<(string, string)> BudgetPeriods = [("", "–"), .. KeyCharges.Periods.Select(p => (p, p))];

    private UserInfo? _user;
    private string _path = "";
    private List<KeyInfo> _keys = [];
    private List<LedgerLine> _ledger = [];
    private List<DaySpend> _spend = [];
    private List<ChartBar> _spendBars = [];
    private FieldErrors? _moveErrors;
    private FieldErrors? _renameErrors;
    private FieldErrors? _schedulingErrors;
    private FieldErrors? _keyErrors;
    private List<(string, string)> _planOptions = [];
    private string? _newKey;
    private long? _disabledAt;

    protected override void OnInitialized()
    {
        MoveInput ??= new();
        RenameInput ??= new();
        KeyInput ??= new();
        using var connection = Store.Open();
        _user = UserStore.Find(connection, Name);
        if (_user is null)
        {
            return;
        }
        _path = UserPaths.Of(_user.Id, _user.Name);
        SchedulingInput ??= SchedulingForm.Of(Switchboard.Users.Plans.UserSettings(connection, _user.Id));
        _planOptions = [("", "none"), .. Switchboard.Users.Plans.List(connection).Select(p => (p.Name, p.Name))];
        if (SchedulingInput.Plan is { Length: > 0 } plan && !_planOptions.Any(o => o.Item1 == plan))
        {
            _planOptions.Add((plan, plan)); // Posted and gone since: kept in the select, refused below.
        }
        _keys = UserStore.Keys(connection, _user.Id);
        _disabledAt = UserStore.Summary(connection, _user.Id)?.DisabledAt;
        var before = long.TryParse(Query("before"), NumberStyles.None, CultureInfo.InvariantCulture, out var b) ? b : (long?)null;
        _ledger = UserLedger.Page(connection, _user.Id, before, LedgerRows);
        _spend = UserLedger.SpentPerDay(connection, _user.Id, Clock.NowMs(), SpendDays);
        _spendBars = [.. _spend.Select(d => new ChartBar(d.Day.ToString("MM-dd", CultureInfo.InvariantCulture), SpendTooltip(d), [Math.Max(0, d.Credits)]))];
    }

    /// <summary>A day's bar's title: the number the store holds for it (a day of more refunds than charges says so; its bar is empty).</summary>
    public static string SpendTooltip(DaySpend d) =>
        $"{d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}: {d.Credits.ToString(CultureInfo.InvariantCulture)} credits spent";

    private string? OlderHref => _ledger.Count == LedgerRows ? $"{_path}?before={_ledger[^1].Entry.Id.ToString(CultureInfo.InvariantCulture)}" : null;

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A key's name and own limits in one line ("—" for an unnamed, unlimited key); its plan's defaults are the plan's.</summary>
    private static string KeyLimitsText(KeyInfo k)
    {
        var s = k.Settings;
        var parts = new List<string>();
        if (s.Name is { } name) { parts.Add(name); }
        if (s.Scopes is { } scopes) { parts.Add("scopes " + string.Join(" ", scopes)); }
        if (s.Rpm is { } rpm) { parts.Add($"{N(rpm)} rpm"); }
        if (s.MaxConcurrent is { } max) { parts.Add($"{N(max)} at once"); }
        if (s.Budget is { } budget) { parts.Add($"{N(budget)} credits per {s.BudgetPeriod ?? KeyCharges.Total}"); }
        if (s.ExpiresAt is { } at) { parts.Add($"expires {When(at)}"); }
        if (k.Parent is { } parent) { parts.Add($"made by {parent}"); }
        return parts.Count == 0 ? "—" : string.Join(" · ", parts);
    }

    private static string KindTone(string kind) => kind switch { "grant" or "refund" => "ok", "charge" => "info", _ => "" };

    private async Task Move()
    {
        var form = MoveInput!;
        var kind = form.Kind ?? "";
        var note = string.IsNullOrWhiteSpace(form.Note) ? null : form.Note.Trim();
        if (!long.TryParse(form.Amount?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var amount))
        {
            Refuse(ref _moveErrors, "amount", "must be a whole number of credits");
            return;
        }
        try
        {
            CreditMoves.Validate(kind, amount, note);
            var (name, actor) = (Name, Admin);
            var move = await Store.WriteAsync(c => CreditMoves.Apply(c, name, kind, amount, note, actor));
            Done(UserPaths.Of(move.User.Id, move.User.Name), "credits");
        }
        catch (CreditMoveException ex) when (ex.Code != "user_not_found")
        {
            Refuse(ref _moveErrors, ex.Code switch { "invalid_kind" => "kind", "note_required" or "invalid_note" => "note", _ => "amount" }, ex.Message);
        }
        catch (CreditMoveException)
        {
            _user = null; // Gone since the page loaded: the 404 page.
        }
    }

    /// <summary>The rename form: the same rule as the API and the CLI (<see cref="UserStore.Rename"/>).</summary>
    private async Task Rename()
    {
        var (name, newName) = (Name, RenameInput!.NewName ?? "");
        try
        {
            if (await Store.WriteAsync(c => UserStore.Rename(c, name, newName)) is { } before)
            {
                Done(UserPaths.Of(before.Id, newName), "renamed");
            }
            else
            {
                _user = null;
            }
        }
        catch (ArgumentException ex)
        {
            // A broken rule, or a taken name (UserExistsException): nothing was changed.
            Refuse(ref _renameErrors, "new_name", ex is UserExistsException ? $"name is taken: {ex.Message}" : ex.Message);
        }
    }

    /// <summary>The "create key" form: KeySettings' rules, as the admin API's; on an error nothing is created.</summary>
    private async Task CreateKey()
    {
        var (settings, errors) = KeyInput!.Read(Clock.NowMs());
        if (errors is not null)
        {
            _keyErrors = errors;
            Status(400);
            return;
        }
        var name = Name;
        var created = await Store.WriteAsync(c => UserStore.Find(c, name) is { } user ? (User: user, Key: UserStore.CreateKey(c, user.Id, settings, null)) : default);
        _user = created.User;
        _newKey = created.Key;
    }

    /// <summary>The scheduling form: all four settings at once (empty clears one), Plans.SetUser as the admin API's PATCH.</summary>
    private async Task SetScheduling()
    {
        var (changes, errors) = SchedulingInput!.Read();
        if (errors is not null)
        {
            _schedulingErrors = errors;
            Status(400);
            return;
        }
        var name = Name;
        try
        {
            if (await Store.WriteAsync(c => Switchboard.Users.Plans.SetUser(c, name, changes)) is { } user)
            {
                Done(UserPaths.Of(user.Id, user.Name), "saved");
            }
            else
            {
                _user = null;
            }
        }
        catch (KeyNotFoundException ex)
        {
            Refuse(ref _schedulingErrors, "plan", ex.Message);
        }
    }

    private void Refuse(ref FieldErrors? errors, string field, string message)
    {
        errors = new FieldErrors().Add(field, message);
        Status(400);
    }

    public sealed class MoveForm
    {
        public string? Kind { get; set; }
        public string? Amount { get; set; }
        public string? Note { get; set; }
    }

    public sealed class RenameForm
    {
        [System.Runtime.Serialization.DataMember(Name = "new_name")]
        public string? NewName { get; set; }
    }
}
