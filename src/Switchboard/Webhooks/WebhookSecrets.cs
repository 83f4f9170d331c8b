using System.Security.Cryptography;
using System.Text;
using Switchboard.Config;

namespace Switchboard.Webhooks;

/// <summary>
/// Webhook signing secrets: <c>whsec_</c> and 24 random bytes in base64 (the Standard Webhooks
/// form), shown once when made and stored sealed with the bootstrap's Fernet key (as config
/// secrets are), so the store alone does not give them away. Without a key (a distributed
/// bootstrap may have none) a secret is stored unsealed, marked so; docs/security.md says so.
/// </summary>
public sealed class WebhookSecrets(BootstrapConfig bootstrap)
{
    private const string Unsealed = "plain:";

    private readonly Lazy<MultiFernet?> _keys = new(() => bootstrap.Keys(create: true));

    public static string Generate() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));

    public string Seal(string secret) =>
        _keys.Value is { } keys ? keys.Encrypt(Encoding.UTF8.GetBytes(secret)) : Unsealed + secret;

    /// <exception cref="FernetException">The stored value opens with none of the bootstrap's keys.</exception>
    public string Open(string stored) =>
        stored.StartsWith(Unsealed, StringComparison.Ordinal) ? stored[Unsealed.Length..]
        : _keys.Value is { } keys ? Encoding.UTF8.GetString(keys.Decrypt(stored))
        : throw new FernetException("a webhook secret is sealed but the bootstrap has no Fernet key");
}
