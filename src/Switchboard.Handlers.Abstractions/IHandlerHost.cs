namespace Switchboard.Handlers;

/// <summary>
/// What the host does for a running handler beyond handing it its inputs. A test of a plugin can
/// pass its own; without one, binary inputs cannot be read and progress is only logged.
/// </summary>
public interface IHandlerHost
{
    /// <summary>The bytes of a stored binary result this request may read (a step's input), by its SHA-256.</summary>
    Task<BinaryResult> ReadBinaryAsync(string requestId, string sha256, CancellationToken cancellationToken);

    /// <summary>How far the attempt is, from 0 to 1, with an optional message for the client.</summary>
    void ReportProgress(string requestId, double fraction, string? message);

    /// <summary>Output produced so far (streamed text), for clients following the request.</summary>
    void ReportPartial(string requestId, string text);
}
