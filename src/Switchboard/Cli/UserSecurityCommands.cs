using Switchboard.Users;

namespace Switchboard.Cli;

/// <summary>
/// What <c>users password|grant-admin|remove-admin|disable|enable NAME</c> do: a user's security
/// state, with <see cref="UserSecurity"/>'s rules (the admin API's). A password is never taken
/// from the command line (<see cref="Passwords"/>).
/// </summary>
public static class UserSecurityCommands
{
    public static int SetPassword(Store store, string name, bool fromStdin, CliContext context)
    {
        string? password;
        if (fromStdin)
        {
            password = Passwords.FromStdin(context);
        }
        else if (context.CanPrompt)
        {
            password = Passwords.Prompt(context);
        }
        else
        {
            throw new UsageException("stdin is not a terminal: give --password-stdin to read the password from it");
        }
        if (string.IsNullOrEmpty(password))
        {
            throw new UsageException("no password given");
        }
        return Change(store, context, c => UserSecurity.SetPassword(c, name, password));
    }

    public static int SetAdmin(Store store, string name, bool admin, CliContext context) =>
        Change(store, context, c => UserSecurity.SetAdmin(c, name, admin));

    public static int SetDisabled(Store store, string name, bool disabled, CliContext context) =>
        Change(store, context, c => UserSecurity.SetDisabled(c, name, disabled));

    private static int Change(Store store, CliContext context, Func<System.Data.Common.DbConnection, UserInfo> change)
    {
        try
        {
            var user = store.Write(change);
            using var connection = store.Open();
            context.Output.WriteLine(UserSecurity.ToJson(connection, user).ToJsonString());
            return 0;
        }
        catch (UserSecurityException ex)
        {
            context.Error.WriteLine($"switchboard: {ex.Message} (nothing changed)");
            return 1;
        }
    }
}
