using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Config;

namespace Switchboard.Tests.Configs;

/// <summary>
/// Fernet and MultiFernet: every vector of the spec (copied into Configs/FernetVectors, since
/// CI has only the clone), and the edges Python's implementation draws (TTL, clock skew,
/// rotation keeping the timestamp, what counts as a malformed token).
/// </summary>
public sealed class FernetTests
{
    private const string VectorKey = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    private const string VectorToken = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Hello = "hello"u8.ToArray();

    private static JsonArray Vectors(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Configs", "FernetVectors", file)))!.AsArray();

    private static DateTimeOffset Time(JsonNode vector) => DateTimeOffset.Parse((string)vector["now"]!, CultureInfo.InvariantCulture);

    public static TheoryData<string, string, DateTimeOffset, byte[], string> GenerateVectors()
    {
        var data = new TheoryData<string, string, DateTimeOffset, byte[], string>();
        foreach (var v in Vectors("generate.json"))
        {
            var iv = v!["iv"]!.AsArray().Select(b => (byte)(int)b!).ToArray();
            data.Add((string)v["secret"]!, (string)v["src"]!, Time(v), iv, (string)v["token"]!);
        }
        return data;
    }

    public static TheoryData<string, string, DateTimeOffset, int, string> VerifyVectors()
    {
        var data = new TheoryData<string, string, DateTimeOffset, int, string>();
        foreach (var v in Vectors("verify.json"))
        {
            data.Add((string)v!["secret"]!, (string)v["token"]!, Time(v), (int)v["ttl_sec"]!, (string)v["src"]!);
        }
        return data;
    }

    public static TheoryData<string, string, string, DateTimeOffset, int> InvalidVectors()
    {
        var data = new TheoryData<string, string, string, DateTimeOffset, int>();
        foreach (var v in Vectors("invalid.json"))
        {
            data.Add((string)v!["desc"]!, (string)v["secret"]!, (string)v["token"]!, Time(v), (int)v["ttl_sec"]!);
        }
        return data;
    }

    [Fact]
    public void EveryVectorFileHasCases()
    {
        Assert.NotEmpty(GenerateVectors());
        Assert.NotEmpty(VerifyVectors());
        Assert.Equal(8, InvalidVectors().Count());
    }

    [Theory]
    [MemberData(nameof(GenerateVectors))]
    public void GenerateVectorsEncryptToTheExactTokenAndBack(string secret, string src, DateTimeOffset now, byte[] iv, string token)
    {
        var fernet = new Fernet(secret);

        Assert.Equal(token, fernet.Encrypt(Encoding.UTF8.GetBytes(src), now, iv));
        Assert.Equal(src, Encoding.UTF8.GetString(fernet.Decrypt(token)));
        Assert.Equal(now, fernet.ExtractTimestamp(token));
    }

    [Theory]
    [MemberData(nameof(VerifyVectors))]
    public void VerifyVectorsDecrypt(string secret, string token, DateTimeOffset now, int ttlSeconds, string src)
    {
        var plaintext = new Fernet(secret).Decrypt(token, TimeSpan.FromSeconds(ttlSeconds), now);

        Assert.Equal(src, Encoding.UTF8.GetString(plaintext));
    }

    [Theory]
    [MemberData(nameof(InvalidVectors))]
    public void InvalidVectorsAreRefused(string desc, string secret, string token, DateTimeOffset now, int ttlSeconds)
    {
        var ttl = TimeSpan.FromSeconds(ttlSeconds);

        var error = Assert.Throws<FernetException>(() => new Fernet(secret).Decrypt(token, ttl, now));
        Assert.Throws<FernetException>(() => new MultiFernet([new Fernet(Fernet.GenerateKey()), new Fernet(secret)]).Decrypt(token, ttl, now));
        Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(desc));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(1024 * 1024)]
    public void RandomDataRoundTrips(int length)
    {
        var fernet = new Fernet(Fernet.GenerateKey());
        var data = RandomNumberGenerator.GetBytes(length);

        var token = fernet.Encrypt(data);

        Assert.Equal(data, fernet.Decrypt(token));
        Assert.Equal(data, fernet.Decrypt(token, TimeSpan.FromMinutes(1)));
        Assert.Equal(0, token.Length % 4);
    }

    [Fact]
    public void TwoTokensOfOneMessageDifferByTheirIv()
    {
        var fernet = new Fernet(Fernet.GenerateKey());

        Assert.NotEqual(fernet.Encrypt(Hello), fernet.Encrypt(Hello));
    }

    [Fact]
    public void AWrongKeyIsRefusedWithAMessageThatGivesNothingAway()
    {
        var token = new Fernet(Fernet.GenerateKey()).Encrypt("the secret plaintext"u8.ToArray());
        var otherKey = Fernet.GenerateKey();

        var error = Assert.Throws<FernetException>(() => new Fernet(otherKey).Decrypt(token));

        Assert.Equal("the Fernet token is invalid (wrong key or corrupted value)", error.Message);
        Assert.DoesNotContain(otherKey, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, error.Message, StringComparison.Ordinal);
    }

    /// <summary>A token laid out as version (0), timestamp (1–8), IV (9–24), ciphertext, HMAC (last 32).</summary>
    [Theory]
    [InlineData("version", 0)]
    [InlineData("timestamp", 8)]
    [InlineData("iv", 12)]
    [InlineData("ciphertext", 30)]
    [InlineData("hmac", -1)]
    public void FlippingOneBitAnywhereIsRefused(string region, int offset)
    {
        var fernet = new Fernet(Fernet.GenerateKey());
        var raw = FromBase64Url(fernet.Encrypt("twenty bytes of text"u8.ToArray()));
        raw[offset >= 0 ? offset : raw.Length + offset] ^= 0x01;

        Assert.Throws<FernetException>(() => fernet.Decrypt(ToBase64Url(raw)));
        Assert.Throws<FernetException>(() => fernet.ExtractTimestamp(ToBase64Url(raw)));
        Assert.NotEmpty(region);
    }

    [Fact]
    public void EveryTruncationOfATokenIsRefusedAsAFernetException()
    {
        var fernet = new Fernet(VectorKey);

        for (var length = 0; length < VectorToken.Length; length++)
        {
            Assert.Throws<FernetException>(() => fernet.Decrypt(VectorToken[..length]));
        }
    }

    /// <summary>
    /// Tokens are read as canonical url-safe base64 with their padding, as Python writes them.
    /// Python's decoder also needs the padding; it would accept the '+' '/' spelling and skip
    /// stray characters, which no Fernet writer produces, so those are refused here.
    /// </summary>
    [Theory]
    [InlineData("without its padding")]
    [InlineData("with padding added")]
    [InlineData("in the standard alphabet")]
    [InlineData("with a trailing newline")]
    [InlineData("with a space inside")]
    [InlineData("empty")]
    [InlineData("just padding")]
    [InlineData("garbage")]
    public void MalformedTokensAreRefusedAsFernetExceptions(string how)
    {
        var token = how switch
        {
            "without its padding" => VectorToken.TrimEnd('='),
            "with padding added" => VectorToken + "==",
            "in the standard alphabet" => VectorToken.Replace('_', '/').Replace('-', '+'),
            "with a trailing newline" => VectorToken + "\n",
            "with a space inside" => VectorToken[..20] + " " + VectorToken[21..],
            "empty" => "",
            "just padding" => "====",
            "garbage" => "not a token at all, really!",
            _ => throw new ArgumentOutOfRangeException(nameof(how)),
        };

        Assert.NotEqual(VectorToken, token);
        Assert.Throws<FernetException>(() => new Fernet(VectorKey).Decrypt(token));
    }

    [Fact]
    public void GeneratedKeysAre32RandomBytesInPaddedUrlSafeBase64()
    {
        var key = Fernet.GenerateKey();

        Assert.Equal(44, key.Length);
        Assert.EndsWith("=", key, StringComparison.Ordinal);
        Assert.Equal(32, FromBase64Url(key).Length);
        Assert.NotEqual(key, Fernet.GenerateKey());
        Assert.DoesNotContain('+', key);
        Assert.DoesNotContain('/', key);
    }

    [Fact]
    public void AKeyWorksWithOrWithoutItsPadding()
    {
        Assert.Equal(Hello, new Fernet(VectorKey.TrimEnd('=')).Decrypt(VectorToken));
    }

    [Theory]
    [InlineData("c2l4dGVlbiBieXRlcyEhIQ==")] // 16 bytes
    [InlineData("MzMgYnl0ZXMgaXMgb25lIGJ5dGUgdG9vIG1hbnkhISEh")] // 33 bytes
    [InlineData("this is not base64 at all, not even close!!!")]
    [InlineData("cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4=")] // the vector key in the standard alphabet
    [InlineData("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4==")] // too much padding
    [InlineData(" cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")]
    public void BadKeysAreRefusedWithoutRepeatingThem(string key)
    {
        var error = Assert.Throws<ArgumentException>(() => new Fernet(key));

        Assert.DoesNotContain(key.Trim(), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Trim()[..12], error.Message, StringComparison.Ordinal);
        Assert.Contains("32 bytes in url-safe base64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmptyKeyIsRefused()
    {
        Assert.Throws<ArgumentException>(() => new Fernet(""));
    }

    [Fact]
    public void AnIvMustBe16Bytes()
    {
        Assert.Throws<ArgumentException>(() => new Fernet(VectorKey).Encrypt(Hello, T0, new byte[15]));
    }

    [Fact]
    public void ATokenAsOldAsItsTtlStillOpensAndOneSecondOlderDoesNot()
    {
        var fernet = new Fernet(Fernet.GenerateKey());
        var token = fernet.Encrypt(Hello, T0, RandomNumberGenerator.GetBytes(16));
        var ttl = TimeSpan.FromSeconds(60);

        Assert.Equal(Hello, fernet.Decrypt(token, ttl, T0 + ttl));
        // The clock counts whole seconds, as Python's int(time.time()).
        Assert.Equal(Hello, fernet.Decrypt(token, ttl, T0 + ttl + TimeSpan.FromMilliseconds(999)));
        var error = Assert.Throws<FernetException>(() => fernet.Decrypt(token, ttl, T0 + ttl + TimeSpan.FromSeconds(1)));
        Assert.Contains("expired", error.Message, StringComparison.Ordinal);
        // Without a TTL age does not matter.
        Assert.Equal(Hello, fernet.Decrypt(token, now: T0 + TimeSpan.FromDays(3650)));
    }

    [Fact]
    public void WithATtlATokenUpTo60SecondsAheadOfTheClockOpensAndOneMoreDoesNot()
    {
        var fernet = new Fernet(Fernet.GenerateKey());
        var token = fernet.Encrypt(Hello, T0, RandomNumberGenerator.GetBytes(16));
        var ttl = TimeSpan.FromSeconds(10);

        Assert.Equal(Hello, fernet.Decrypt(token, ttl, T0 - TimeSpan.FromSeconds(60)));
        var error = Assert.Throws<FernetException>(() => fernet.Decrypt(token, ttl, T0 - TimeSpan.FromSeconds(61)));
        Assert.Contains("future", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutATtlAFarFutureTokenOpens()
    {
        var fernet = new Fernet(Fernet.GenerateKey());
        var farFuture = fernet.Encrypt(Hello, new DateTimeOffset(2999, 1, 1, 0, 0, 0, TimeSpan.Zero), RandomNumberGenerator.GetBytes(16));

        Assert.Equal(Hello, fernet.Decrypt(farFuture));
        Assert.Throws<FernetException>(() => fernet.Decrypt(farFuture, TimeSpan.FromDays(1)));
    }

    [Fact]
    public void ATimestampBeyondAnyDateStillOpensWithoutATtlButHasNoDate()
    {
        var fernet = new Fernet(Fernet.GenerateKey());
        var token = fernet.EncryptAt(Hello, ulong.MaxValue, RandomNumberGenerator.GetBytes(16));

        Assert.Equal(Hello, fernet.Decrypt(token));
        Assert.Throws<FernetException>(() => fernet.Decrypt(token, TimeSpan.MaxValue));
        Assert.Throws<FernetException>(() => fernet.ExtractTimestamp(token));
    }

    [Fact]
    public void TimestampsBeforeTheEpochCannotBeWritten()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Fernet(VectorKey).Encrypt(Hello, DateTimeOffset.UnixEpoch.AddSeconds(-1), new byte[16]));
    }

    [Fact]
    public void ExtractTimestampChecksTheSignature()
    {
        Assert.Equal(DateTimeOffset.Parse("1985-10-26T01:20:00-07:00", CultureInfo.InvariantCulture), new Fernet(VectorKey).ExtractTimestamp(VectorToken));
        Assert.Throws<FernetException>(() => new Fernet(Fernet.GenerateKey()).ExtractTimestamp(VectorToken));
    }

    [Fact]
    public void MultiFernetEncryptsWithTheFirstKeyAndOpensWithAny()
    {
        var (newKey, oldKey) = (new Fernet(Fernet.GenerateKey()), new Fernet(Fernet.GenerateKey()));
        var multi = new MultiFernet([newKey, oldKey]);
        var oldToken = oldKey.Encrypt(Hello);

        Assert.Equal(Hello, newKey.Decrypt(multi.Encrypt(Hello)));
        Assert.Throws<FernetException>(() => oldKey.Decrypt(multi.Encrypt(Hello)));
        Assert.Equal(Hello, multi.Decrypt(oldToken));
        Assert.True(multi.TryDecrypt(oldToken, out var data));
        Assert.Equal(Hello, data);
        Assert.False(new MultiFernet([newKey]).TryDecrypt(oldToken, out _));
        Assert.False(multi.TryDecrypt("garbage", out _));
    }

    [Fact]
    public void MultiFernetAppliesTheTtl()
    {
        var oldKey = new Fernet(Fernet.GenerateKey());
        var multi = new MultiFernet([new Fernet(Fernet.GenerateKey()), oldKey]);
        var token = oldKey.Encrypt(Hello, T0, RandomNumberGenerator.GetBytes(16));

        Assert.Equal(Hello, multi.Decrypt(token, TimeSpan.FromMinutes(1), T0 + TimeSpan.FromMinutes(1)));
        Assert.Throws<FernetException>(() => multi.Decrypt(token, TimeSpan.FromMinutes(1), T0 + TimeSpan.FromMinutes(2)));
    }

    [Fact]
    public void RotateMovesATokenToTheFirstKeyAndKeepsItsTimestamp()
    {
        var (newKey, oldKey) = (new Fernet(Fernet.GenerateKey()), new Fernet(VectorKey));
        var multi = new MultiFernet([newKey, oldKey]);

        // The 1985 vector token is long expired: rotation ignores age, as Python's does.
        var rotated = multi.Rotate(VectorToken);

        Assert.Equal(Hello, newKey.Decrypt(rotated));
        Assert.Throws<FernetException>(() => oldKey.Decrypt(rotated));
        Assert.Equal(oldKey.ExtractTimestamp(VectorToken), newKey.ExtractTimestamp(rotated));
        Assert.Equal(oldKey.ExtractTimestamp(VectorToken), multi.ExtractTimestamp(rotated));
        Assert.NotEqual(FromBase64Url(VectorToken)[9..25], FromBase64Url(rotated)[9..25]);
        Assert.NotEqual(rotated, multi.Rotate(rotated));
    }

    [Fact]
    public void RotatingATokenNoKeyOpensIsRefused()
    {
        var multi = new MultiFernet([new Fernet(Fernet.GenerateKey()), new Fernet(Fernet.GenerateKey())]);

        Assert.Throws<FernetException>(() => multi.Rotate(VectorToken));
        Assert.Throws<FernetException>(() => multi.Rotate("%%%"));
    }

    [Fact]
    public void MultiFernetNeedsAKey()
    {
        Assert.Throws<ArgumentException>(() => new MultiFernet([]));
    }

    private static byte[] FromBase64Url(string text) => Convert.FromBase64String(text.Replace('-', '+').Replace('_', '/'));

    private static string ToBase64Url(byte[] bytes) => Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');
}
