using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Users;

/// <summary>
/// API keys look like <c>sb_ab12cd34_&lt;40 random chars&gt;</c>. The prefix names the key in
/// listings and revocations; the store keeps only the SHA-256 of the whole key. A fast hash is
/// right here (unlike for passwords) because a key has 200+ bits of entropy.
/// </summary>
public static class ApiKeys
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    public static (string Key, string Prefix, string Hash) Generate()
    {
        var prefix = "sb_" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 8);
        var key = prefix + "_" + RandomNumberGenerator.GetString(Alphabet, 40);
        return (key, prefix, Hash(key));
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
