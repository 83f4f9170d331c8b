namespace Switchboard.Storage;

/// <summary>
/// The formats this build reads and writes, for what one process writes and another interprets
/// (docs/operations.md, "Upgrading"): a request row (<c>requests.format</c>) and a queue message
/// (the Redis entry's <c>v</c> field; no field is format 1). A process reads every format up to
/// its own and leaves a newer one where it is, for a build that reads it: a claim skips a newer
/// row and keeps its message; the fetcher neither runs nor acks a newer entry.
/// <para>
/// When to raise one: when a change makes the rows or messages this build writes mean something
/// an older build would get wrong if it read them (a column whose value it must interpret, a
/// message carrying more than <c>id:run</c>); not for an added column an older build may
/// ignore. Raise it in two releases: first a build that READS the new format and still writes
/// the old one (rolled to every executor and recon), then the build that WRITES it. Until the
/// second release exists, the value here is both: what this build reads up to, and what it writes.
/// </para>
/// </summary>
public static class Formats
{
    /// <summary>The newest request row format this build reads, and the one its inserts get (the column's default).</summary>
    public const int Request = 1;

    /// <summary>The newest queue message format this build reads, and the one it writes (format 1: no <c>v</c> field, as before formats existed).</summary>
    public const int Message = 1;
}
