using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Switchboard.Config;

/// <summary>
/// A Fernet token was refused. The message never carries the key, the token or the plaintext:
/// it ends up in logs. A wrong key and a damaged token say the same thing, on purpose, since
/// the format cannot tell them apart.
/// </summary>
public sealed class FernetException(string message) : Exception(message);

/// <summary>
/// Fernet tokens (version 0x80 of the public Fernet spec, github.com/fernet/spec), made and read with the
/// platform's AES-128-CBC and HMAC-SHA256, so that values written by Python's
/// <c>cryptography.fernet</c> open here and ours open there. The behaviour follows Python's
/// implementation where the spec leaves room (TTL and clock-skew checks, padding rules).
/// Thread-safe: the keys never change and every call makes its own cipher.
/// </summary>
public sealed class Fernet
{
    private const byte Version = 0x80;
    private const int KeySize = 16;
    private const int IvSize = 16;
    private const int BlockSize = 16;
    private const int HmacSize = 32;
    private const int TimestampOffset = 1;
    private const int IvOffset = 1 + 8;
    private const int HeaderSize = 1 + 8 + IvSize;

    /// <summary>Python's <c>_MAX_CLOCK_SKEW</c>: with a TTL, a token may be this far ahead of our clock.</summary>
    private static readonly long MaxClockSkewTicks = TimeSpan.FromSeconds(60).Ticks;

    private const string KeyFormat = "a Fernet key is 32 bytes in url-safe base64 (make one with `switchboard keygen`)";

    private readonly byte[] _signingKey;
    private readonly byte[] _encryptionKey;

    /// <param name="key">
    /// Url-safe base64 of 32 bytes (signing key ‖ encryption key), with or without the '='
    /// padding. '+' and '/' are refused: every Fernet key generator writes '-' and '_'.
    /// </param>
    /// <exception cref="ArgumentException">The key is not that; the message does not repeat it.</exception>
    public Fernet(string key)
    {
        var bytes = key is null ? null : FromBase64Url(key, paddingRequired: false);
        if (bytes is not { Length: 2 * KeySize })
        {
            throw new ArgumentException(KeyFormat, nameof(key));
        }
        _signingKey = bytes[..KeySize];
        _encryptionKey = bytes[KeySize..];
        CryptographicOperations.ZeroMemory(bytes);
    }

    /// <summary>32 random bytes in padded url-safe base64, as Python's <c>Fernet.generate_key()</c> writes them.</summary>
    public static string GenerateKey()
    {
        var key = RandomNumberGenerator.GetBytes(2 * KeySize);
        try
        {
            return ToBase64Url(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>A token stamped with the current time, under a fresh random IV.</summary>
    public string Encrypt(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return EncryptAt(data, UnixSeconds(DateTimeOffset.UtcNow), RandomNumberGenerator.GetBytes(IvSize));
    }

    /// <summary>
    /// A token with the given time and IV: for the spec's vectors and tests. Never reuse an IV
    /// under one key in production; <see cref="Encrypt(byte[])"/> picks a random one.
    /// </summary>
    public string Encrypt(byte[] data, DateTimeOffset now, byte[] iv)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(iv);
        if (iv.Length != IvSize)
        {
            throw new ArgumentException($"a Fernet IV is {IvSize} bytes", nameof(iv));
        }
        return EncryptAt(data, UnixSeconds(now), iv);
    }

    /// <summary>
    /// The token format from its parts (Python's <c>_encrypt_from_parts</c>). The timestamp is
    /// the raw field so that <see cref="MultiFernet.Rotate"/> carries any token's stamp over
    /// unchanged, even one no <see cref="DateTimeOffset"/> can hold.
    /// </summary>
    internal string EncryptAt(ReadOnlySpan<byte> data, ulong timestamp, ReadOnlySpan<byte> iv)
    {
        if (iv.Length != IvSize)
        {
            throw new ArgumentException($"a Fernet IV is {IvSize} bytes", nameof(iv));
        }
        // PKCS7 always pads, so a whole block of padding follows a message of whole blocks.
        var ciphertextLength = (data.Length / BlockSize + 1) * BlockSize;
        var token = new byte[HeaderSize + ciphertextLength + HmacSize];
        token[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(token.AsSpan(TimestampOffset, 8), timestamp);
        iv.CopyTo(token.AsSpan(IvOffset, IvSize));
        using (var aes = Aes.Create())
        {
            aes.Key = _encryptionKey;
            aes.EncryptCbc(data, iv, token.AsSpan(HeaderSize, ciphertextLength), PaddingMode.PKCS7);
        }
        HMACSHA256.HashData(_signingKey, token.AsSpan(0, token.Length - HmacSize), token.AsSpan(token.Length - HmacSize));
        return ToBase64Url(token);
    }

    /// <summary>
    /// The plaintext of a token made under this key, as Python's <c>Fernet.decrypt</c> and
    /// <c>decrypt_at_time</c> decide it.
    /// </summary>
    /// <param name="ttl">
    /// When given, a token older than this is refused (a token exactly <paramref name="ttl"/>
    /// old still opens), and so is one stamped more than 60 s after <paramref name="now"/>.
    /// Without it the timestamp is not looked at, as in Python.
    /// </param>
    /// <param name="now">The clock for the TTL check (the current time when null); unused without a TTL.</param>
    /// <exception cref="FernetException">Any token that does not open, whatever is wrong with it.</exception>
    public byte[] Decrypt(string token, TimeSpan? ttl = null, DateTimeOffset? now = null) => Open([this], token, ttl, now).Data;

    /// <summary>
    /// When the token was made, once its HMAC shows it was made under this key (Python's
    /// <c>extract_timestamp</c>): an unsigned timestamp could be forged by anyone.
    /// </summary>
    /// <exception cref="FernetException">The token is not one of ours, or its stamp is past year 9999.</exception>
    public DateTimeOffset ExtractTimestamp(string token) => ExtractTimestamp([this], token);

    /// <summary>
    /// The shared path of <see cref="Decrypt"/> and <see cref="MultiFernet"/>. The order is
    /// Python's, except that the HMAC is checked before the time: the outcome is the same (either
    /// refuses), but then "expired" is only said of a token that is genuine. The HMAC is compared
    /// in constant time and always before the cipher runs, so a padding error reveals nothing
    /// about a forged ciphertext.
    /// </summary>
    internal static (byte[] Data, ulong Timestamp) Open(IReadOnlyList<Fernet> keys, string token, TimeSpan? ttl, DateTimeOffset? now)
    {
        var data = Parse(token);
        var timestamp = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(TimestampOffset, 8));
        foreach (var key in keys)
        {
            if (!key.IsAuthentic(data))
            {
                continue;
            }
            CheckAge(timestamp, ttl, now);
            // Python's MultiFernet moves on after a padding error too; only keys sharing a
            // signing key could ever get here twice.
            if (key.TryDecryptAuthentic(data, out var plaintext))
            {
                return (plaintext, timestamp);
            }
        }
        throw Invalid();
    }

    internal static DateTimeOffset ExtractTimestamp(IReadOnlyList<Fernet> keys, string token)
    {
        var data = Parse(token);
        if (!keys.Any(key => key.IsAuthentic(data)))
        {
            throw Invalid();
        }
        var timestamp = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(TimestampOffset, 8));
        if (timestamp > (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            throw new FernetException("the Fernet token's timestamp is past the year 9999");
        }
        return DateTimeOffset.FromUnixTimeSeconds((long)timestamp);
    }

    private static FernetException Invalid() => new("the Fernet token is invalid (wrong key or corrupted value)");

    /// <summary>
    /// The decoded token, when its shape is right: version 0x80, and room for a timestamp, an
    /// IV, at least one cipher block (PKCS7 never yields zero) in whole blocks, and the HMAC.
    /// </summary>
    private static byte[] Parse(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var data = FromBase64Url(token, paddingRequired: true);
        if (data is null
            || data.Length < HeaderSize + BlockSize + HmacSize
            || data[0] != Version
            || (data.Length - HeaderSize - HmacSize) % BlockSize != 0)
        {
            throw Invalid();
        }
        return data;
    }

    private bool IsAuthentic(byte[] data)
    {
        Span<byte> expected = stackalloc byte[HmacSize];
        HMACSHA256.HashData(_signingKey, data.AsSpan(0, data.Length - HmacSize), expected);
        return CryptographicOperations.FixedTimeEquals(expected, data.AsSpan(data.Length - HmacSize));
    }

    private bool TryDecryptAuthentic(byte[] data, [NotNullWhen(true)] out byte[]? plaintext)
    {
        using var aes = Aes.Create();
        aes.Key = _encryptionKey;
        try
        {
            plaintext = aes.DecryptCbc(
                data.AsSpan(HeaderSize, data.Length - HeaderSize - HmacSize),
                data.AsSpan(IvOffset, IvSize),
                PaddingMode.PKCS7);
            return true;
        }
        catch (CryptographicException)
        {
            // Bad PKCS7 padding under a valid HMAC: a token signed with our key but not
            // encrypted with it (or a broken encoder). Python says InvalidToken here too.
            plaintext = null;
            return false;
        }
    }

    /// <summary>
    /// Python's checks, in whole seconds for the clock (it passes <c>int(time.time())</c>):
    /// expired when <c>timestamp + ttl &lt; now</c>, from the future when
    /// <c>now + 60 &lt; timestamp</c>. Int128 ticks, because the timestamp field is a full
    /// unsigned 64-bit number and Python's integers do not overflow.
    /// </summary>
    private static void CheckAge(ulong timestamp, TimeSpan? ttl, DateTimeOffset? now)
    {
        if (ttl is not { } maxAge)
        {
            return;
        }
        var current = (Int128)(now ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds() * TimeSpan.TicksPerSecond;
        var created = (Int128)timestamp * TimeSpan.TicksPerSecond;
        if (created + maxAge.Ticks < current)
        {
            throw new FernetException("the Fernet token has expired");
        }
        if (current + MaxClockSkewTicks < created)
        {
            throw new FernetException("the Fernet token is from the future (clock skew of more than 60 s)");
        }
    }

    private static ulong UnixSeconds(DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds();
        return seconds >= 0
            ? (ulong)seconds
            : throw new ArgumentOutOfRangeException(nameof(now), "Fernet timestamps start at 1970-01-01 UTC");
    }

    /// <summary>
    /// Padded url-safe base64, byte for byte what Python's <c>base64.urlsafe_b64encode</c>
    /// writes (the spec vectors end in "==").
    /// </summary>
    private static string ToBase64Url(byte[] bytes)
    {
        var text = Base64Url.EncodeToString(bytes);
        return text.PadRight((text.Length + 3) / 4 * 4, '=');
    }

    /// <summary>
    /// Canonical url-safe base64: only A–Z a–z 0–9 '-' '_', and '=' only as the padding at the
    /// end. Null when the text is anything else. Python's decoder is looser (it drops unknown
    /// characters and takes '+' and '/'), but like Python a token must carry its padding;
    /// nothing that writes Fernet values writes the looser forms.
    /// </summary>
    private static byte[]? FromBase64Url(string text, bool paddingRequired)
    {
        var pad = text.EndsWith("==", StringComparison.Ordinal) ? 2 : text.EndsWith('=') ? 1 : 0;
        var body = text.AsSpan(0, text.Length - pad);
        var lengthOk = pad > 0 || paddingRequired ? text.Length % 4 == 0 : body.Length % 4 != 1;
        if (!lengthOk || body.ContainsAnyExcept(UrlSafeAlphabet))
        {
            return null;
        }
        var bytes = new byte[Base64Url.GetMaxDecodedLength(body.Length)];
        // Done also means the unused low bits of the last character are zero (canonical form).
        var status = Base64Url.DecodeFromChars(body, bytes, out _, out var written);
        return status == OperationStatus.Done ? bytes[..written] : null;
    }

    private static readonly SearchValues<char> UrlSafeAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

/// <summary>
/// Several Fernet keys, newest first, for key rotation as Python's <c>MultiFernet</c> does it:
/// new tokens use the first key, any key opens a token, and <see cref="Rotate"/> moves an old
/// token onto the first key.
/// </summary>
public sealed class MultiFernet(IReadOnlyList<Fernet> keys)
{
    private readonly Fernet[] _keys = Check(keys);

    private static Fernet[] Check(IReadOnlyList<Fernet> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var copy = keys.ToArray();
        if (copy.Length == 0 || copy.Any(key => key is null))
        {
            throw new ArgumentException("MultiFernet needs at least one key, and no null ones", nameof(keys));
        }
        return copy;
    }

    /// <summary>A token under the first key.</summary>
    public string Encrypt(byte[] data) => _keys[0].Encrypt(data);

    /// <summary>The plaintext, from whichever key made the token; TTL as in <see cref="Fernet.Decrypt"/>.</summary>
    /// <exception cref="FernetException">No key opens the token, or it is too old or too new.</exception>
    public byte[] Decrypt(string token, TimeSpan? ttl = null, DateTimeOffset? now = null) => Fernet.Open(_keys, token, ttl, now).Data;

    /// <summary>As <see cref="Decrypt"/> without a TTL, false instead of an exception.</summary>
    public bool TryDecrypt(string token, [NotNullWhen(true)] out byte[]? data)
    {
        try
        {
            data = Decrypt(token);
            return true;
        }
        catch (FernetException)
        {
            data = null;
            return false;
        }
    }

    /// <summary>When the token was made, once one of the keys shows it is genuine.</summary>
    public DateTimeOffset ExtractTimestamp(string token) => Fernet.ExtractTimestamp(_keys, token);

    /// <summary>
    /// The token re-encrypted under the first key with a fresh IV, keeping its original
    /// timestamp (as Python's <c>MultiFernet.rotate</c>): rotating keys must not extend a TTL.
    /// No TTL applies, so expired tokens rotate too.
    /// </summary>
    /// <exception cref="FernetException">No key opens the token.</exception>
    public string Rotate(string token)
    {
        var (data, timestamp) = Fernet.Open(_keys, token, ttl: null, now: null);
        try
        {
            return _keys[0].EncryptAt(data, timestamp, RandomNumberGenerator.GetBytes(16));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }
}
