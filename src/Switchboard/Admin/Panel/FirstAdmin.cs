using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Admin.Panel;

/// <summary>
/// On the first <c>serve</c> with no users at all, creates the admin <c>admin</c> with a random
/// password and prints it once on stderr, in a framed block with the panel's URL, once the
/// server listens: the only place it is ever shown (the store keeps its hash). Not through the
/// logger: log lines are shipped and kept, and a password must not be; the log only says that
/// it was printed. Registered after the store initializer, so the tables exist.
/// </summary>
public sealed class FirstAdmin(Store store, IServer server, IHostApplicationLifetime lifetime, ILogger<FirstAdmin> logger) : IHostedService
{
    public const string Name = "admin";

    /// <summary>The banner's line that holds the password, up to the password.</summary>
    public const string PasswordLabel = "   Password:  ";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', 'x').Replace('/', 'y');
        var created = await store.WriteAsync(c =>
            UserStore.Count(c) == 0 ? UserStore.Create(c, Name, admin: true, credits: 0, password, actor: "first serve") : null);
        if (created is not null)
        {
            logger.LogWarning("No users yet: created the admin '{User}'; its password is printed once on stderr, apart from the logs", Name);
            // Once listening, so the URL is the one the server got (a port 0 resolved).
            lifetime.ApplicationStarted.Register(() => Console.Error.Write(Banner(PanelUrl(), Name, password)));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static string Banner(string panelUrl, string user, string password)
    {
        var rule = new string('=', 72);
        return $"""

            {rule}
             switchboard: no users yet, so the first start created an admin.
             Its password is shown this once; the store keeps only its hash.

               Panel:     {panelUrl}
               User:      {user}
            {PasswordLabel}{password}

             Change it in the panel, or: switchboard users password {user}
            {rule}


            """;
    }

    /// <summary>The panel on the server's first http address (a wildcard host shown as localhost).</summary>
    private string PanelUrl()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault() ?? Config.SwitchboardOptions.DefaultUrl;
        foreach (var wildcard in new[] { "://+:", "://*:", "://0.0.0.0:", "://[::]:" })
        {
            address = address.Replace(wildcard, "://localhost:", StringComparison.Ordinal);
        }
        return address.TrimEnd('/') + "/admin/";
    }
}
