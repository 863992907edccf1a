using System.Text;
using Bridge.Xmpp.Stream;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// How the end of a server's byte stream is classified (issue 13): a connection that ends between stanzas is the server
/// going away (Prosody closes the socket without &lt;/stream:stream&gt; when it stops), not malformed XML; only bytes
/// that are not XML are a stream violation.
/// </summary>
public sealed class StreamEndTests
{
    private const string Opening = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='bridge.localhost'><handshake/>";
    private const string Message = "<message from='room@conference.localhost/a' to='bridge.localhost' type='groupchat'><body>hi</body></message>";

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\n\n")]
    public async Task A_connection_that_ends_between_stanzas_is_a_closed_stream_not_malformed_xml(string trailing)
    {
        await using var stream = await OpenAsync(Opening + Message + trailing);
        Assert.NotNull(await stream.ReadStanzaAsync(CancellationToken.None));

        Assert.Null(await stream.ReadStanzaAsync(CancellationToken.None));
        Assert.True(stream.EndedWithoutClose);
    }

    [Fact]
    public async Task A_closing_stream_tag_is_a_closed_stream()
    {
        await using var stream = await OpenAsync(Opening + Message + "</stream:stream>");
        Assert.NotNull(await stream.ReadStanzaAsync(CancellationToken.None));

        Assert.Null(await stream.ReadStanzaAsync(CancellationToken.None));
        Assert.False(stream.EndedWithoutClose);
    }

    [Fact]
    public async Task A_connection_that_ends_inside_a_stanza_is_a_lost_connection_not_malformed_xml()
    {
        await using var stream = await OpenAsync(Opening + "<message from='room@conference.localhost/a' to='bridge.localhost'><body>hal");

        await Assert.ThrowsAsync<XmppStreamClosedException>(() => stream.ReadStanzaAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("<message><body>x</bod></message>")]
    [InlineData("<message a='1' a='2'/>")]
    [InlineData("<message><</message>")]
    public async Task Malformed_xml_before_the_end_stays_a_violation(string bad)
    {
        await using var stream = await OpenAsync(Opening + bad);

        var ex = await Assert.ThrowsAsync<XmppStreamViolationException>(() => stream.ReadStanzaAsync(CancellationToken.None));
        Assert.Equal("not-well-formed", ex.Condition);
    }

    private static Task<ComponentStream> OpenAsync(string serverBytes) =>
        ComponentStream.OpenOverAsync(new OneWay(Encoding.UTF8.GetBytes(serverBytes)), "bridge.localhost", "secret", 65536, CancellationToken.None);

    /// <summary>The server's bytes in small reads, then the end of the connection; what we write is dropped.</summary>
    private sealed class OneWay(byte[] data) : System.IO.Stream
    {
        private int _at;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => data.Length;
        public override long Position { get => _at; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(Math.Min(buffer.Length, 37), data.Length - _at);
            data.AsSpan(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Write(byte[] buffer, int offset, int count) { }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
