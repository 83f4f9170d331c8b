using System.Security.Cryptography;
using Switchboard.Storage;
using Switchboard.Users;

namespace Switchboard.Admin.Panel;

/// <summary>
/// On the first <c>serve</c> with no users at all, creates the admin <c>admin</c> with a random
/// password and logs it once at Warning: the only place it is ever shown (the store keeps its hash).
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
            logger.LogWarning("No users yet: created the admin '{User}' with the password {Password} (shown once; log in at /admin/)", Name, password);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
