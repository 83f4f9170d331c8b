using System.Security.Cryptography;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Admin.Panel;

/// <summary>
/// On the first <c>serve</c> with no users at all, creates the admin <c>admin</c> with a random
/// password and prints it once on stderr: the only place it is ever shown (the store keeps its
/// hash). Not through the logger: log lines are shipped and kept, and a password must not be.
/// Registered after the store initializer, so the tables exist.
/// </summary>
public sealed class FirstAdmin(Store store, ILogger<FirstAdmin> logger) : IHostedService
{
    public const string Name = "admin";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', 'x').Replace('/', 'y');
        var created = await store.WriteAsync(c =>
            UserStore.Count(c) == 0 ? UserStore.Create(c, Name, admin: true, credits: 0, password, actor: "first serve") : null);
        if (created is not null)
        {
            await Console.Error.WriteLineAsync($"switchboard: no users yet: created the admin '{Name}' with the password {password} (shown once; log in at /admin/)");
            logger.LogWarning("No users yet: created the admin '{User}'; its password was printed once on stderr", Name);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
