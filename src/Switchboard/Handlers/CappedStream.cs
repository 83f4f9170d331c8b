namespace Switchboard.Handlers;

/// <summary>
/// A read-only stream over an upstream's answer that fails with <see cref="UpstreamTooLargeException"/>
/// once more than <c>maxBytes</c> came through it, or, for a streamed (line-based) answer, once one
/// line grows past <c>maxLineBytes</c> without its end: a reader that buffers a line (an SSE
/// parser) never holds more than that, and a whole stream never more than the answer's cap.
/// Used by <see cref="CappedUpstreamClient"/> (an SDK's reads) and <see cref="UpstreamEvents"/>.
/// </summary>
internal sealed class CappedStream(Stream inner, long maxBytes, long maxLineBytes = long.MaxValue) : Stream
{
    private long _read;
    private long _line;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        return Count(buffer.Span[..read]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(ReadOnlySpan<byte> read)
    {
        _read += read.Length;
        if (_read > maxBytes)
        {
            throw new UpstreamTooLargeException(maxBytes);
        }
        if (maxLineBytes != long.MaxValue)
        {
            // A reader may take many lines in one read (an SSE parser grows its buffer for a long
            // one), so every line in the piece is measured, the first one with what came before it.
            var rest = read;
            int next;
            while ((next = rest.IndexOfAny((byte)'\n', (byte)'\r')) >= 0)
            {
                if (_line + next > maxLineBytes)
                {
                    throw new UpstreamTooLargeException(maxLineBytes, line: true);
                }
                _line = 0;
                rest = rest[(next + 1)..];
            }
            _line += rest.Length;
            if (_line > maxLineBytes)
            {
                throw new UpstreamTooLargeException(maxLineBytes, line: true);
            }
        }
        return read.Length;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
