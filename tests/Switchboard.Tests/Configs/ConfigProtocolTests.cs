using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Config;

namespace Switchboard.Tests.Configs;

/// <summary>The config YAML protocol: ~ encrypted, ^ bytes, !ENV, at any depth, and how errors read.</summary>
public sealed class ConfigProtocolTests
{
    private static readonly MultiFernet Keys = new([new Fernet(Fernet.GenerateKey())]);

    private static readonly Dictionary<string, string> Env = new() { ["HOST"] = "db.internal", ["PORT"] = "5432", ["TOKEN"] = "env-token" };

    private static string? Lookup(string name) => Env.GetValueOrDefault(name);

    private static JsonObject Load(string text, MultiFernet? keys = null, string id = "svc_handlers") =>
        ConfigProtocol.Load(text, "test.yaml", new ConfigProtocol.Reading(id, keys ?? Keys), Lookup);

    private const string Deep = """
        # settings of the handlers
        openai:
          base_url: !ENV "https://${HOST}:${PORT}/v1"   # from the environment
          ~api_key: sk-live-123
          ^salt: pepper
          accounts:
            - name: first
              ~password: "p@ss: with colon"
              ^blob: !ENV ${TOKEN}
              nested: [{~pin: '0042'}, {plain: 7}]
            - name: second
          ~letter: |
            Dear operator,
            keep this.
        """;

    [Fact]
    public void SealedValuesAtAnyDepthLoadDecryptedWithoutTheirPrefix()
    {
        var sealedText = ConfigProtocol.Seal(Deep, "test.yaml", "svc_handlers", Keys);
        var config = Load(sealedText);

        var openai = (JsonObject)config["openai"]!;
        Assert.Equal("https://db.internal:5432/v1", openai["base_url"]!.GetValue<string>());
        Assert.Equal("sk-live-123", openai["api_key"]!.GetValue<string>());
        Assert.Equal("pepper"u8.ToArray(), openai["salt"]!.GetValue<byte[]>());
        var first = (JsonObject)openai["accounts"]![0]!;
        Assert.Equal("p@ss: with colon", first["password"]!.GetValue<string>());
        Assert.Equal("env-token"u8.ToArray(), first["blob"]!.GetValue<byte[]>());
        Assert.Equal("0042", first["nested"]![0]!["pin"]!.GetValue<string>());
        Assert.Equal(7, first["nested"]![1]!["plain"]!.GetValue<long>());
        Assert.Equal("Dear operator,\nkeep this.", openai["letter"]!.GetValue<string>());
        Assert.DoesNotContain(openai, p => p.Key.StartsWith('~') || p.Key.StartsWith('^'));
    }

    [Fact]
    public void SealingReplacesOnlyTheSecretsAndKeepsCommentsAndLayout()
    {
        var sealedText = ConfigProtocol.Seal(Deep, "test.yaml", "svc_handlers", Keys);

        foreach (var secret in new[] { "sk-live-123", "p@ss: with colon", "0042", "Dear operator" })
        {
            Assert.DoesNotContain(secret, sealedText);
        }
        Assert.Contains("# settings of the handlers", sealedText);
        Assert.Contains("base_url: !ENV \"https://${HOST}:${PORT}/v1\"   # from the environment", sealedText);
        Assert.Contains("^blob: !ENV ${TOKEN}", sealedText);
        Assert.Contains("^salt: pepper", sealedText);
        Assert.Equal(Deep.Split('\n').Length - 2, sealedText.Split('\n').Length);
        Assert.Matches(@"~api_key: gAAAAA[A-Za-z0-9_=-]+\n", sealedText);

        // A pulled document pushed again as plain text would be encrypted twice: refused.
        var again = Assert.Throws<ConfigException>(() => ConfigProtocol.Seal(sealedText, "pulled.yaml", "svc_handlers", Keys));
        Assert.Contains("already a Fernet token", again.Message);
        Assert.Contains("--encrypted", again.Message);
    }

    [Fact]
    public void ShowMasksSecretsAndRevealOpensThem()
    {
        var sealedText = ConfigProtocol.Seal(Deep, "test.yaml", "svc_handlers", Keys);

        var masked = ConfigProtocol.Show(sealedText, "c", "svc_handlers", null, reveal: false);
        Assert.Contains("~api_key: ********", masked);
        Assert.DoesNotContain("gAAAAA", masked);
        Assert.DoesNotContain("sk-live-123", masked);

        var revealed = ConfigProtocol.Show(sealedText, "c", "svc_handlers", Keys, reveal: true);
        Assert.Contains("~api_key: \"sk-live-123\"", revealed);
        // What --reveal prints is a document that pushes back to the same values.
        Assert.Equal(
            Load(sealedText).ToJsonString(),
            Load(ConfigProtocol.Seal(revealed, "r", "svc_handlers", Keys)).ToJsonString());
    }

    [Fact]
    public void AWrongKeyNamesTheKeyPathAndNeverTheSecretOrToken()
    {
        var sealedText = ConfigProtocol.Seal("openai:\n  ~api_key: sk-live-123\n", "test.yaml", "svc_handlers", Keys);
        var other = new MultiFernet([new Fernet(Fernet.GenerateKey())]);

        var error = Assert.Throws<ConfigException>(() => Load(sealedText, other));

        Assert.Equal("test.yaml:2:13: wrong key or corrupted value at svc_handlers.openai.api_key", error.Message);
        var token = sealedText.Split("~api_key: ")[1].Trim();
        Assert.DoesNotContain(token, error.Message);
    }

    [Fact]
    public void ATamperedTokenIsCorrupted()
    {
        var sealedText = ConfigProtocol.Seal("~api_key: sk-live-123\n", "test.yaml", "svc_handlers", Keys);
        var at = sealedText.IndexOf("gAAAAA", StringComparison.Ordinal) + 30;
        var tampered = sealedText[..at] + (sealedText[at] == 'A' ? 'B' : 'A') + sealedText[(at + 1)..];

        var error = Assert.Throws<ConfigException>(() => Load(tampered));

        Assert.Contains("wrong key or corrupted value at svc_handlers.api_key", error.Message);
    }

    [Theory]
    [InlineData("a: [1, 2\n", "test.yaml:2:1:")]
    [InlineData("openai:\n  key: !SECRET abc\n", "test.yaml:2:8: unknown tag '!SECRET' at svc_handlers.openai.key")]
    [InlineData("openai:\n  ~api_key: {a: 1}\n", "test.yaml:2:13: the ~ value at svc_handlers.openai.api_key must be a string, not a mapping")]
    [InlineData("openai:\n  ~api_key: [a]\n", "must be a string, not a list")]
    [InlineData("openai:\n  ~pin: 1234\n", "test.yaml:2:9: the ~ value at svc_handlers.openai.pin must be a string (quote it)")]
    [InlineData("openai:\n  ~pin:\n", "the ~ value at svc_handlers.openai.pin must be a string")]
    [InlineData("openai:\n  ~key: !ENV ${TOKEN}\n", "cannot be an !ENV reference")]
    [InlineData("openai:\n  ^raw: {a: 1}\n", "the ^ value at svc_handlers.openai.raw must be a scalar")]
    [InlineData("openai:\n  url: !ENV ${NOT_SET}\n", "test.yaml:2:8: environment variable NOT_SET is not set (needed by svc_handlers.openai.url)")]
    [InlineData("list:\n  - {~a: x, a: y}\n", "duplicate key 'a' at svc_handlers.list[0]")]
    [InlineData("- a\n- b\n", "test.yaml: a config must be a YAML mapping")]
    public void ErrorsNameTheFileLineColumnAndKeyPath(string yaml, string message)
    {
        var error = Assert.Throws<ConfigException>(() => Load(ConfigProtocol.Seal(yaml, "test.yaml", "svc_handlers", Keys)));

        Assert.Contains(message, error.Message);
        Assert.StartsWith("test.yaml:", error.Message);
        Assert.DoesNotContain("   at ", error.Message);
    }

    [Theory]
    [InlineData("90", 90)]
    [InlineData("5m", 300)]
    [InlineData("1w", 604_800)]
    [InlineData("100000000d", null)]
    [InlineData("9223372036854775807w", null)]
    [InlineData("1y", null)]
    [InlineData("-5s", null)]
    public void DurationsOutOfRangeAreRefusedNotThrown(string text, int? seconds)
    {
        Assert.Equal(seconds, ConfigValues.ParseDuration(text) is { } d ? (int)d.TotalSeconds : null);

        var errors = new List<string>();
        ResourceMap.Read(new System.Text.Json.Nodes.JsonObject { ["api"] = new System.Text.Json.Nodes.JsonObject { ["period"] = text } }, errors);
        Assert.Equal(seconds is null, errors.Any(e => e.Contains("resource_map.api.period must be a duration")));
    }

    [Fact]
    public void EnvForms()
    {
        var config = Load("""
            a: !ENV ${HOST}
            b: !ENV${PORT}
            c: {uri: !ENV ${HOST}, port: !ENV ${PORT}}
            d: !ENV "redis://${HOST}:${PORT}/0"
            e: !ENV ${NOT_SET:fallback}
            f: !ENV ${HOST:unused}
            """, id: "x");

        Assert.Equal("db.internal", config["a"]!.GetValue<string>());
        Assert.Equal("5432", config["b"]!.GetValue<string>());
        Assert.Equal("db.internal", config["c"]!["uri"]!.GetValue<string>());
        Assert.Equal("redis://db.internal:5432/0", config["d"]!.GetValue<string>());
        Assert.Equal("fallback", config["e"]!.GetValue<string>());
        Assert.Equal("db.internal", config["f"]!.GetValue<string>());
    }

    [Fact]
    public void SealingKeepsTheTextOfEnvReferencesBeforeASecretOnTheSameLine()
    {
        var text = "c: {uri: !ENV ${HOST}, ~password: hunter2, port: !ENV ${PORT}}\n";

        var sealedText = ConfigProtocol.Seal(text, "t", "x", Keys);

        Assert.StartsWith("c: {uri: !ENV ${HOST}, ~password: gAAAAA", sealedText);
        Assert.EndsWith(", port: !ENV ${PORT}}\n", sealedText);
        Assert.Equal("hunter2", Load(sealedText, id: "x")["c"]!["password"]!.GetValue<string>());
    }

    [Fact]
    public void RotationPutsEveryTokenUnderTheNewKeyAndKeepsItsTimestamp()
    {
        var oldKey = new Fernet(Fernet.GenerateKey());
        var newKey = new Fernet(Fernet.GenerateKey());
        var sealedText = ConfigProtocol.Seal(Deep, "t", "svc_handlers", new MultiFernet([oldKey]));
        var oldToken = sealedText.Split("~api_key: ")[1].Split('\n')[0];

        var rotated = ConfigProtocol.Rotate(sealedText, "t", "svc_handlers", new MultiFernet([newKey, oldKey]));

        var newToken = rotated.Split("~api_key: ")[1].Split('\n')[0];
        Assert.NotEqual(oldToken, newToken);
        Assert.Equal(oldKey.ExtractTimestamp(oldToken), newKey.ExtractTimestamp(newToken));
        Assert.Equal(Load(sealedText, new MultiFernet([oldKey])).ToJsonString(), Load(rotated, new MultiFernet([newKey])).ToJsonString());
        Assert.Throws<ConfigException>(() => Load(rotated, new MultiFernet([oldKey])));
    }

    /// <summary>
    /// A document whose token Python's <c>cryptography</c> made: the spec's generate vector is
    /// exactly what <c>Fernet(secret)._encrypt_from_parts(b"hello", time, iv)</c> returns, so a
    /// token built here from the same key, IV and time is byte for byte Python's.
    /// </summary>
    [Fact]
    public void AConfigEncryptedByPythonsFernetLoads()
    {
        const string secret = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
        const string pythonToken = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
        var token = new Fernet(secret).Encrypt(
            Encoding.UTF8.GetBytes("hello"), DateTimeOffset.Parse("1985-10-26T01:20:00-07:00", CultureInfo.InvariantCulture), [.. Enumerable.Range(0, 16).Select(i => (byte)i)]);
        Assert.Equal(pythonToken, token);
        var document = $"""
            openai:
              ~api_key: {token}
              ~quoted: "{token}"
            """;

        var keys = new MultiFernet([new Fernet(secret)]);
        ConfigProtocol.CheckSealed(document, "python.yaml", "svc_handlers", keys);
        var config = Load(document, keys);

        Assert.Equal("hello", config["openai"]!["api_key"]!.GetValue<string>());
        Assert.Equal("hello", config["openai"]!["quoted"]!.GetValue<string>());
    }

    [Fact]
    public void ADocumentMayWrapItsContentInItsId()
    {
        var config = ConfigProtocol.Unwrap("resource_map", Load("resource_map:\n  openai: {key: x}\n", id: "resource_map"));
        Assert.True(config.ContainsKey("openai"));

        var error = Assert.Throws<ConfigException>(() => Load("resource_map:\n  openai: {key: !NOPE x}\n", id: "resource_map"));
        Assert.Contains("at resource_map.openai.key", error.Message);
        Assert.DoesNotContain("resource_map.resource_map", error.Message);
    }

    [Fact]
    public async Task KeygenPrintsAFreshKey()
    {
        var (exit, first, _) = await Infrastructure.Cli.RunArgs("keygen");
        var (_, second, _) = await Infrastructure.Cli.RunArgs("keygen");

        Assert.Equal(0, exit);
        Assert.NotEqual(first, second);
        var key = new Fernet(first.Trim());
        Assert.Equal("x"u8.ToArray(), key.Decrypt(key.Encrypt("x"u8.ToArray())));
    }

    [Fact]
    public void VersionsWrittenAsFloatsKeepTheirDigits()
    {
        var config = Load("ids: {api: 1.0, service_map: 1.10, other: 2}\n", id: "");

        Assert.Equal("1.0", config["ids"]!["api"]!.ToJsonString());
        Assert.Equal("1.10", config["ids"]!["service_map"]!.ToJsonString());
        Assert.Equal(1.0, config["ids"]!["api"]!.GetValue<double>());
    }
}
