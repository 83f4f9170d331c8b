using System.Text.RegularExpressions;
using Switchboard.Handlers;
using Switchboard.Lifecycle;
using Switchboard.Blobs;
using Switchboard.Live;

namespace Switchboard.Execution;

/// <summary>
/// What the executor does for one running job's handler (<see cref="IHandlerHost"/>): reads the
/// binary results it may take as input, and carries its progress and partial output. A job may
/// read only blobs linked to its own root request (a step's deal, whose earlier steps made them,
/// or the request itself): a reference naming any other blob, someone else's included, is a
/// permanent <c>invalid_input</c>, whether or not that blob exists.
/// </summary>
/// <remarks>
/// Progress is stored on the running row, throttled (<see cref="JobProgress"/>), and announced on
/// the change feed. Partial output is never stored: each piece goes to the feed as
/// <see cref="ChangeKind.Partial"/> changes of at most <see cref="RequestChange.MaxPartialChars"/>
/// characters (a longer piece is sent as several), for the followers of the request (and of a
/// step's deal).
/// </remarks>
public sealed partial class HandlerHost(Store store, ClaimedJob job, JobProgress progress, IChangePublisher publisher) : IHandlerHost
{
    /// <summary>The request error of an input a handler asked for that this request may not read.</summary>
    public const string InvalidInputCode = "invalid_input";

    [GeneratedRegex("^[0-9a-f]{64}\\z")]
    private static partial Regex Sha256();

    public Task<BinaryResult> ReadBinaryAsync(string requestId, string sha256, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (requestId != job.RequestId || !Sha256().IsMatch(sha256))
        {
            throw HandlerException.Permanent(InvalidInputCode, "the input is not a binary result of this request");
        }
        using var connection = store.Open();
        return ResultBlobs.Read(connection, job.Parent ?? job.RequestId, sha256) is { } blob
            ? Task.FromResult(blob)
            : throw HandlerException.Permanent(InvalidInputCode, "the input names a binary result this request cannot read (not an earlier step's, or expired)");
    }

    // HandlerContext clamps the fraction and logs each report at debug level.
    public void ReportProgress(string requestId, double fraction, string? message) => progress.Report(fraction, message);

    public void ReportPartial(string requestId, string text)
    {
        for (var start = 0; start < text.Length;)
        {
            var length = Math.Min(RequestChange.MaxPartialChars, text.Length - start);
            // Not between the halves of a surrogate pair.
            if (start + length < text.Length && char.IsHighSurrogate(text[start + length - 1]))
            {
                length--;
            }
            var piece = text.Substring(start, length);
            publisher.Publish(new RequestChange(job.RequestId, ChangeKind.Partial, piece));
            if (job.Parent is { } deal)
            {
                publisher.Publish(new RequestChange(deal, ChangeKind.Partial, piece));
            }
            start += length;
        }
    }
}
