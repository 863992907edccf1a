namespace Bridge.Xmpp.Stream;

/// <summary>
/// Counts the bytes read from the socket and refuses to read past a per-stanza budget, so a peer cannot make the XML
/// reader buffer an unbounded stanza (one huge text node or attribute) before we see it. The budget is approximate
/// by the reader's look-ahead buffer (a few KiB), which is fine for a memory guard.
/// </summary>
internal sealed class StanzaBudgetStream(System.IO.Stream inner) : System.IO.Stream
{
    private long _consumed;
    private long _limitAt = long.MaxValue;
    private long _budget = long.MaxValue;

    public long Consumed => _consumed;

    /// <summary>The peer ended the connection (a read returned no bytes): an XML error that follows is the cut, not bad input.</summary>
    public bool EndOfInput { get; private set; }

    public void StartBudget(long bytes)
    {
        _budget = bytes;
        _limitAt = _consumed + bytes;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _consumed; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Check();
        var n = await inner.ReadAsync(buffer, cancellationToken);
        EndOfInput |= n == 0 && buffer.Length > 0;
        _consumed += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        Check();
        var n = inner.Read(buffer, offset, count);
        EndOfInput |= n == 0 && count > 0;
        _consumed += n;
        return n;
    }

    private void Check()
    {
        if (_consumed > _limitAt)
        {
            throw new XmppStreamViolationException("policy-violation", $"stanza larger than {_budget} bytes");
        }
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
