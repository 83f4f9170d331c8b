using System.CommandLine;
using Switchboard.Lifecycle;
using Switchboard.Retention;
using Switchboard.Users;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>users forget NAME</c>: deletes the user's requests and results, keeps the ledger and the
/// account (<see cref="UserForget"/>); prints one JSON line of what it deleted. Refused (exit 1,
/// nothing deleted) while a request of theirs is not finished. Recorded in the audit trail like
/// every command that writes.
/// </summary>
public static class ForgetCommand
{
    public static StoreCommand Create(CliContext context)
    {
        var name = Shared.UserName();
        var actor = Shared.Actor();
        return new StoreCommand("forget", "Deletes a user's requests, results and webhook rows (keeps the ledger and the account), one JSON line of counts", context, (parse, s) =>
        {
            var given = parse.GetValue(name)!;
            UserInfo? user;
            using (var connection = s.Store.Open())
            {
                user = UserStore.Find(connection, given);
            }
            if (user is null)
            {
                context.Error.WriteLine($"switchboard: no user named '{given}'");
                return CommandLine.Failed;
            }
            PruneCounts counts;
            try
            {
                counts = UserForget.ForgetAsync(s.Store, user.Id, Clock.NowMs()).GetAwaiter().GetResult();
            }
            catch (UnfinishedRequestsException ex)
            {
                context.Error.WriteLine($"switchboard: {user.Name}: {ex.Message} (nothing deleted)");
                return CommandLine.Failed;
            }
            context.Output.WriteLine(UserForget.ToJson(user.Name, counts).ToJsonString());
            return CommandLine.Ok;
        })
        {
            name, actor,
        };
    }
}
