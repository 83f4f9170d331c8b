using Npgsql;

namespace Switchboard.Storage;

/// <summary>Turns a <c>postgres://</c> / <c>postgresql://</c> URL into an Npgsql connection string; anything else is taken as one.</summary>
public static class PostgresUri
{
    public static string ToConnectionString(string uri)
    {
        if (!uri.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) && !uri.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(uri).ConnectionString;
            }
            catch (ArgumentException)
            {
                // The message of a bad connection string may quote it, password included.
                throw new ArgumentException("postgres.uri is neither a postgres:// URL nor an Npgsql connection string");
            }
        }
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var url) || string.IsNullOrEmpty(url.Host))
        {
            throw new ArgumentException("postgres.uri is not a valid postgres:// URL (postgres://user:password@host:port/database)");
        }
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = url.Host,
            Port = url.IsDefaultPort || url.Port <= 0 ? 5432 : url.Port,
            Database = Uri.UnescapeDataString(url.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
        };
        if (url.UserInfo.Length > 0)
        {
            var parts = url.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }
        foreach (var pair in url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            try
            {
                builder[key switch { "sslmode" => "SSL Mode", "application_name" => "Application Name", _ => key }] = value;
            }
            catch (ArgumentException)
            {
                throw new ArgumentException($"postgres.uri has an unknown option '{key}'");
            }
        }
        return builder.ConnectionString;
    }
}
