using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Switchboard.Config;
using Switchboard.Storage;

namespace Switchboard.Admin.Panel;

/// <summary>
/// The Data Protection keys that sign the panel's login cookie and antiforgery tokens, kept in
/// the store (<c>panel_keys</c>) rather than in the process's home folder: every api process of
/// a deployment then accepts the cookies of the others, and a restart (or a new container)
/// keeps admins signed in. Each key is sealed with the bootstrap's Fernet key when there is
/// one (the embedded default makes its key file), so the store alone does not give the keys away.
/// </summary>
public sealed class PanelKeyRing(Store store) : IXmlRepository
{
    /// <summary>Shared by every process whatever folder it runs from (the default is the content root).</summary>
    public const string ApplicationName = "switchboard";

    public static IServiceCollection AddPanelKeyRing(IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<Store, BootstrapConfig>((options, store, bootstrap) =>
        {
            options.XmlRepository = new PanelKeyRing(store);
            options.XmlEncryptor = bootstrap.Keys(create: true) is { } keys ? new FernetXmlEncryptor(keys) : null;
        });
        return services;
    }

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = store.Open();
        using var command = connection.Sql("SELECT xml FROM panel_keys ORDER BY created_at, name");
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }
        return elements;
    }

    /// <summary>
    /// For <c>config rotate-key</c>: every stored key sealed under an older Fernet key is sealed
    /// again under the first one, in one unit, so that dropping the old key later signs nobody
    /// out. Returns how many keys were rewritten.
    /// </summary>
    public static int Reseal(Store store, MultiFernet keys) => store.Write(connection =>
    {
        var rows = new List<(string Name, string Xml)>();
        using (var command = connection.Sql("SELECT name, xml FROM panel_keys"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add((reader.GetString(0), reader.GetString(1)));
            }
        }
        var rewritten = 0;
        foreach (var (name, xml) in rows)
        {
            var key = XElement.Parse(xml);
            var changed = false;
            foreach (var sealedSecret in key.Descendants("fernet"))
            {
                var token = keys.Rotate(sealedSecret.Value);
                changed |= token != sealedSecret.Value;
                sealedSecret.Value = token;
            }
            if (changed)
            {
                connection.Execute("UPDATE panel_keys SET xml = @xml WHERE name = @name", ("@xml", key.ToString(SaveOptions.DisableFormatting)), ("@name", name));
                rewritten++;
            }
        }
        return rewritten;
    });

    /// <summary>A new key; two processes making one at the same time both keep theirs (their names differ).</summary>
    public void StoreElement(XElement element, string friendlyName) =>
        store.Write(connection => connection.Execute(
            "INSERT INTO panel_keys (name, xml, created_at) VALUES (@name, @xml, @now) ON CONFLICT (name) DO NOTHING",
            ("@name", friendlyName), ("@xml", element.ToString(SaveOptions.DisableFormatting)), ("@now", Clock.NowMs())));
}

/// <summary>Seals a key's secret part as one Fernet token (the same keys as the configs' <c>~</c> values).</summary>
public sealed class FernetXmlEncryptor(MultiFernet keys) : IXmlEncryptor
{
    public EncryptedXmlInfo Encrypt(XElement plaintextElement) =>
        new(new XElement("fernet", keys.Encrypt(Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting)))), typeof(FernetXmlDecryptor));
}

/// <summary>Opens what <see cref="FernetXmlEncryptor"/> sealed; made by Data Protection with the app's services.</summary>
public sealed class FernetXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var keys = services.GetRequiredService<BootstrapConfig>().Keys()
            ?? throw new InvalidOperationException("A panel key in the store is sealed with a Fernet key, and this process has none: give it the deployment's fernet_keys.");
        return XElement.Parse(Encoding.UTF8.GetString(keys.Decrypt(encryptedElement.Value)));
    }
}
