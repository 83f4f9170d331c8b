using System.Data.Common;

namespace Switchboard.Storage;

/// <summary>Change counters in the <c>meta</c> table, which other processes poll to refresh their caches.</summary>
public static class Meta
{
    public const string CatalogVersion = "catalog_version";
    public const string AuthVersion = "auth_version";
    public const string ConfigVersion = "config_version";

    public static void Bump(DbConnection connection, string key) =>
        connection.Execute("UPDATE meta SET value = value + 1 WHERE key = @k", ("@k", key));

    public static long Read(DbConnection connection, string key) =>
        connection.Scalar<long>("SELECT value FROM meta WHERE key = @k", ("@k", key));
}
