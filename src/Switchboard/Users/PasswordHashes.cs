using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Switchboard.Users;

/// <summary>
/// Password hashes: ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/> (format V3, which
/// stores the algorithm, the iteration count and the salt beside the hash) set to
/// PBKDF2-HMAC-SHA512 with <see cref="Iterations"/> iterations, OWASP's figure. Older hashes (fewer
/// iterations, SHA-1/SHA-256, the V2 format) still verify and come back as
/// <see cref="PasswordVerificationResult.SuccessRehashNeeded"/>: the login stores a new hash then.
/// No setting lowers the count: tests pay the same cost as production.
/// </summary>
public static class PasswordHashes
{
    public const int Iterations = 210_000;

    private static readonly PasswordHasher<string> Hasher = new(Options.Create(new PasswordHasherOptions
    {
        CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
        IterationCount = Iterations,
    }));

    public static string Hash(string password) => Hasher.HashPassword("", password);

    public static PasswordVerificationResult Verify(string hash, string password)
    {
        try
        {
            return Hasher.VerifyHashedPassword("", hash, password);
        }
        catch (FormatException)
        {
            // Not a hash this code wrote (edited by hand in the store): no password matches it.
            return PasswordVerificationResult.Failed;
        }
    }

    /// <summary>
    /// A hash of a random password with the same parameters as every new hash: a login for a name
    /// that has no hash is checked against it, so that it costs exactly what a real check costs.
    /// </summary>
    public static readonly Lazy<string> Dummy = new(() => Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))));
}
