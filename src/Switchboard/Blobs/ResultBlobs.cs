using System.Data;
using System.Data.Common;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Switchboard.Handlers;
using Switchboard.Storage;

namespace Switchboard.Blobs;

/// <summary>A stored binary result as its owner reads it: the media type its run's handler declared, and its size.</summary>
public sealed record BlobInfo(string MediaType, long Bytes);

/// <summary>
/// Binary results in the store (tables <c>blobs</c> and <c>result_blobs</c>, migration 13): each
/// blob once, keyed by the SHA-256 of its bytes, and a link per request run whose results list it.
/// A link names the root request (the one its owner reads it through: a deal for its steps' results)
/// and the row holding the results. Links are written in the unit of the run's success
/// (<see cref="Save"/>) and deleted with the results (<see cref="Forget"/>: expiry, re-run), so no
/// blob outlives the results that list it and none is lost by a run that did not succeed.
/// </summary>
public static class ResultBlobs
{
    /// <summary>Where the owner reads a binary result: relative, like every link of the API (<c>/svc/request/{id}/</c>).</summary>
    public static string UrlOf(string rootId, string sha256) => $"/svc/request/{rootId}/results/{sha256}";

    /// <summary>
    /// In the success's unit: stores each blob not stored yet and links it to the run. The bytes
    /// are sent only when the store lacks them; a concurrent delete of the same blob by another
    /// process fails this unit on the foreign key (the writer runs it again, which then stores it).
    /// </summary>
    public static void Save(DbConnection connection, string rootId, string requestId, int run, IReadOnlyList<BinaryResult> binaries, long now)
    {
        foreach (var blob in binaries)
        {
            if (connection.Scalar<long?>("SELECT bytes FROM blobs WHERE sha256 = @sha", ("@sha", blob.Sha256)) is null)
            {
                connection.Execute(
                    "INSERT INTO blobs (sha256, bytes, content, created_at) VALUES (@sha, @bytes, @content, @now) ON CONFLICT (sha256) DO NOTHING",
                    ("@sha", blob.Sha256), ("@bytes", (long)blob.Content.Length), ("@content", ArrayOf(blob.Content)), ("@now", now));
            }
            connection.Execute(
                """
                INSERT INTO result_blobs (root_id, sha256, request_id, run, media_type) VALUES (@root, @sha, @request, @run, @type)
                ON CONFLICT (root_id, sha256, request_id, run) DO NOTHING
                """,
                ("@root", rootId), ("@sha", blob.Sha256), ("@request", requestId), ("@run", run), ("@type", blob.MediaType));
        }
    }

    /// <summary>
    /// In the unit that drops a request's results (expiry, a re-run): its links and its steps',
    /// then each of their blobs that no other request lists. Costs one indexed delete when the
    /// request had no binary results. Returns the blobs deleted (those no other request lists).
    /// </summary>
    public static int Forget(DbConnection connection, string rootId)
    {
        var shas = new HashSet<string>(StringComparer.Ordinal);
        using (var command = connection.Sql("DELETE FROM result_blobs WHERE root_id = @root RETURNING sha256", ("@root", rootId)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                shas.Add(reader.GetString(0));
            }
        }
        var deleted = 0;
        foreach (var sha in shas)
        {
            deleted += connection.Execute(
                "DELETE FROM blobs WHERE sha256 = @sha AND NOT EXISTS (SELECT 1 FROM result_blobs l WHERE l.sha256 = @sha)",
                ("@sha", sha));
        }
        return deleted;
    }

    /// <summary>
    /// A binary result of <paramref name="rootId"/> that <paramref name="userId"/> may read (the
    /// root is theirs, not a step, and lists it in its current run, itself or through its steps);
    /// null otherwise, whichever part is missing.
    /// </summary>
    public static BlobInfo? Find(DbConnection connection, string rootId, string userId, string sha256)
    {
        using var command = connection.Sql(
            """
            SELECT l.media_type, b.bytes FROM result_blobs l
            JOIN requests r ON r.id = l.root_id AND r.run = l.run
            JOIN blobs b ON b.sha256 = l.sha256
            WHERE l.root_id = @root AND l.sha256 = @sha AND r.user_id = @user AND r.parent IS NULL
            LIMIT 1
            """,
            ("@root", rootId), ("@sha", sha256), ("@user", userId));
        using var reader = command.ExecuteReader();
        return reader.Read() ? new BlobInfo(reader.GetString(0), reader.GetInt64(1)) : null;
    }

    /// <summary>
    /// A binary result linked to <paramref name="rootId"/> (a deal's earlier steps, or the request
    /// itself), with its bytes: what a running handler may read as its input. Null when not linked.
    /// </summary>
    public static BinaryResult? Read(DbConnection connection, string rootId, string sha256)
    {
        string? mediaType;
        using (var command = connection.Sql(
            "SELECT media_type FROM result_blobs WHERE root_id = @root AND sha256 = @sha LIMIT 1", ("@root", rootId), ("@sha", sha256)))
        {
            mediaType = command.ExecuteScalar() as string;
        }
        if (mediaType is null)
        {
            return null;
        }
        using var content = connection.Sql("SELECT content FROM blobs WHERE sha256 = @sha", ("@sha", sha256));
        return content.ExecuteScalar() is byte[] bytes ? new BinaryResult(bytes, mediaType) : null;
    }

    /// <summary>
    /// The blob's bytes as a stream read from the store as it is consumed (SQLite: incremental blob
    /// I/O; PostgreSQL: a sequential reader), not a copy in memory. It uses
    /// <paramref name="connection"/>, which must stay open until the stream is disposed. Null when
    /// the blob is gone (deleted since it was found).
    /// </summary>
    public static Stream? OpenContent(DbConnection connection, string sha256)
    {
        if (connection is SqliteConnection sqlite)
        {
            var rowid = connection.Scalar<long?>("SELECT rowid FROM blobs WHERE sha256 = @sha", ("@sha", sha256));
            return rowid is { } id ? new SqliteBlob(sqlite, "blobs", "content", id, readOnly: true) : null;
        }
        var command = connection.Sql("SELECT content FROM blobs WHERE sha256 = @sha", ("@sha", sha256));
        var reader = command.ExecuteReader(CommandBehavior.SequentialAccess | CommandBehavior.SingleRow);
        if (!reader.Read())
        {
            reader.Dispose();
            command.Dispose();
            return null;
        }
        return new OwningStream(reader.GetStream(0), reader, command);
    }

    /// <summary>The bytes as an array for the driver, without a copy when the memory is a whole array already.</summary>
    private static byte[] ArrayOf(ReadOnlyMemory<byte> content) =>
        MemoryMarshal.TryGetArray(content, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : content.ToArray();
}
