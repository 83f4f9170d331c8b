using System.Buffers.Binary;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Switchboard.Users;

namespace Switchboard.Tests.Security;

/// <summary>
/// New password hashes are PBKDF2-HMAC-SHA512 with at least 210,000 iterations (read from the
/// stored format, which names both); a stored hash of an older kind still logs in, and is
/// replaced by a new one at that login.
/// </summary>
public sealed class PasswordHashFormatTests : AppTests
{
    protected override Task<TestApp> StartAsync() => TestApp.StartAsync(StoreKind.Sqlite);

    private const int HmacSha512 = 2;

    /// <summary>Identity's V3 format: 0x01, the PRF (2 = HMAC-SHA512), the iteration count, big-endian.</summary>
    private static (int Prf, int Iterations) Format(string hash)
    {
        var bytes = Convert.FromBase64String(hash);
        Assert.Equal(0x01, bytes[0]);
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(5)));
    }

    private string StoredHash(string name) =>
        App.Store.Query(c => c.Scalar<string>("SELECT password_hash FROM users WHERE name = @n", ("@n", name)))!;

    [Fact]
    public async Task ANewPasswordIsHashedWithPbkdf2Sha512AndAtLeast210000Iterations()
    {
        await PanelSession.CreateAdmin(App.Store, "root");
        var (exit, _, error) = await PanelApps.Cli(App.Store, "another password\n", "users", "password", "root", "--password-stdin");
        Assert.True(exit == 0, error);

        var (prf, iterations) = Format(StoredHash("root"));
        Assert.Equal(HmacSha512, prf);
        Assert.True(iterations >= 210_000, $"{iterations} iterations");
    }

    public static TheoryData<string> OldHashers => new() { "v2", "v3-sha512-10000" };

    [Theory]
    [MemberData(nameof(OldHashers))]
    public async Task AnOldHashLogsInAndIsReplacedByANewOne(string kind)
    {
        await PanelSession.CreateAdmin(App.Store, "root");
        var old = new PasswordHasher<string>(Options.Create(kind == "v2"
            ? new PasswordHasherOptions { CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV2 }
            : new PasswordHasherOptions { IterationCount = 10_000 }));
        var oldHash = old.HashPassword("root", PanelSession.Password);
        await App.Store.Store.WriteAsync(c => c.Execute("UPDATE users SET password_hash = @h WHERE name = 'root'", ("@h", oldHash)));

        var app = App.Server;
        using var client = PanelApps.Client(app, new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(client, "root", PanelSession.Password)).StatusCode);

        var stored = StoredHash("root");
        Assert.NotEqual(oldHash, stored);
        Assert.Equal((HmacSha512, PasswordHashes.Iterations), Format(stored));
        using var again = PanelApps.Client(app, new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(again, "root", PanelSession.Password)).StatusCode);
    }
}
