using System.Globalization;
using System.Net;
using StackExchange.Redis;

namespace Switchboard.Queue;

/// <summary>
/// Where Redis is and how Switchboard names its keys: the bootstrap's <c>redis.uri</c> parsed
/// once. Accepts <c>redis://[user:password@]host[:port][/db]</c> (<c>rediss://</c> for TLS) or a
/// StackExchange.Redis configuration string (<c>host:port,password=…</c>).
/// </summary>
public sealed class RedisSettings
{
    public const string DefaultKeyPrefix = "switchboard";

    private RedisSettings(ConfigurationOptions options, string keyPrefix, string description)
    {
        Options = options;
        KeyPrefix = keyPrefix;
        Description = description;
    }

    /// <summary>
    /// Connection options. <c>AbortOnConnectFail</c> is off (a process starts while Redis is
    /// down and connects when it comes back) and commands fail fast while disconnected instead
    /// of queueing: every caller here has its own retry or repair, and a backlog would only
    /// make them wait for the timeout.
    /// </summary>
    public ConfigurationOptions Options { get; }

    /// <summary>Prefix of every key; it is the hash tag, so all keys share one Redis Cluster slot and Lua scripts may touch several.</summary>
    public string KeyPrefix { get; }

    /// <summary>Where Redis is, safe for logs: <c>host:port/db</c>, never the password.</summary>
    public string Description { get; }

    /// <summary>A key in Switchboard's space: <c>{prefix}:name</c>.</summary>
    public RedisKey Key(string name) => $"{{{KeyPrefix}}}:{name}";

    /// <summary>Parses <c>redis.uri</c>.</summary>
    /// <exception cref="ArgumentException">The text is not a usable Redis address; the message never repeats the password.</exception>
    public static RedisSettings Parse(string? uri, string keyPrefix = DefaultKeyPrefix)
    {
        if (string.IsNullOrWhiteSpace(keyPrefix) || keyPrefix.IndexOfAny(['{', '}', ' ']) >= 0)
        {
            throw new ArgumentException("the Redis key prefix must be non-empty, without braces or spaces", nameof(keyPrefix));
        }
        if (string.IsNullOrWhiteSpace(uri))
        {
            throw Invalid("it is empty");
        }
        uri = uri.Trim();
        var options = uri.Contains("://", StringComparison.Ordinal) ? FromUri(uri) : FromConfigurationString(uri);
        if (options.EndPoints.Count == 0)
        {
            throw Invalid("it names no host");
        }
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ClientName ??= "switchboard";
        return new RedisSettings(options, keyPrefix, Describe(options));
    }

    private static ConfigurationOptions FromUri(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            throw Invalid("it is not a URI (percent-encode special characters in the password)");
        }
        var tls = uri.Scheme switch
        {
            "redis" => false,
            "rediss" => true,
            _ => throw Invalid($"the scheme must be redis:// or rediss://, not {uri.Scheme}://"),
        };
        if (string.IsNullOrEmpty(uri.Host))
        {
            throw Invalid("it names no host");
        }
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw Invalid("query strings and fragments are not supported; use a configuration string (host:port,option=value) for other options");
        }
        var port = uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port;
        if (port is < 1 or > 65535)
        {
            throw Invalid("the port must be between 1 and 65535");
        }
        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && !int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database))
        {
            throw Invalid("the path must be a database number (redis://host:port/0)");
        }
        var options = new ConfigurationOptions
        {
            Ssl = tls,
            DefaultDatabase = database,
            // Short enough that a dead server is noticed within seconds, long enough for a busy one.
            ConnectTimeout = 5000,
            SyncTimeout = 5000,
            AsyncTimeout = 5000,
            ConnectRetry = 3,
            KeepAlive = 15,
            ReconnectRetryPolicy = new ExponentialRetry(250, 5000),
        };
        if (tls)
        {
            options.SslHost = uri.IdnHost;
        }
        options.EndPoints.Add(uri.IdnHost, port);
        if (uri.UserInfo.Length > 0)
        {
            // Like redis-cli: "user:password", or the password alone.
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = colon >= 0 ? Uri.UnescapeDataString(uri.UserInfo[..colon]) : "";
            var password = Uri.UnescapeDataString(colon >= 0 ? uri.UserInfo[(colon + 1)..] : uri.UserInfo);
            options.User = user.Length > 0 ? user : null;
            options.Password = password.Length > 0 ? password : null;
        }
        return options;
    }

    private static ConfigurationOptions FromConfigurationString(string text)
    {
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(text);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            // The library's message may quote the offending option, which may be the password.
            throw Invalid("it is neither a redis:// URI nor a valid configuration string (host:port,password=…)");
        }
        // Our timeouts unless the string sets its own.
        var lower = text.ToLowerInvariant();
        if (!lower.Contains("connecttimeout=", StringComparison.Ordinal))
        {
            options.ConnectTimeout = 5000;
        }
        if (!lower.Contains("synctimeout=", StringComparison.Ordinal))
        {
            options.SyncTimeout = 5000;
        }
        if (!lower.Contains("asynctimeout=", StringComparison.Ordinal))
        {
            options.AsyncTimeout = 5000;
        }
        return options;
    }

    private static string Describe(ConfigurationOptions options)
    {
        var hosts = string.Join(",", options.EndPoints.Select(e => e switch
        {
            DnsEndPoint d => $"{d.Host}:{d.Port}",
            IPEndPoint ip => ip.ToString(),
            _ => e.ToString() ?? "?",
        }));
        return $"{hosts}/{options.DefaultDatabase ?? 0}{(options.Ssl ? " (tls)" : "")}";
    }

    private static ArgumentException Invalid(string why) => new($"redis.uri is not valid: {why}", "redis.uri");
}
