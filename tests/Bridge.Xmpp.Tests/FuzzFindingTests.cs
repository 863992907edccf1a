using System.Text;
using Bridge.Xmpp.Stream;

namespace Bridge.Xmpp.Tests;

/// <summary>Server byte streams the fuzzer (tests/Bridge.Fuzz.Tests, scripts/fuzz.sh) found to escape as an undocumented exception.</summary>
public sealed class FuzzFindingTests
{
    [Fact]
    public async Task Bytes_invalid_in_the_xml_declaration_are_a_stream_violation_not_an_argument_exception()
    {
        var text = "<?xml version='1.0h\u00db\u009e'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='bridge.localhost'><stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>no</text></stream:error></stream:stream>";
        using var transport = new Chunked(Encoding.Latin1.GetBytes(text), 25);
        var ex = await Assert.ThrowsAsync<XmppStreamViolationException>(() => ComponentStream.OpenOverAsync(transport, "bridge.localhost", "s", 8192, CancellationToken.None));
        Assert.Equal("not-well-formed", ex.Condition);
    }

    private sealed class Chunked(byte[] data, int chunk) : System.IO.Stream
    {
        private int _at;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => data.Length;
        public override long Position { get => _at; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, chunk), data.Length - _at);
            Array.Copy(data, _at, buffer, offset, n);
            _at += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = Math.Min(Math.Min(buffer.Length, chunk), data.Length - _at);
            data.AsMemory(_at, n).CopyTo(buffer);
            _at += n;
            return ValueTask.FromResult(n);
        }

        public override void Write(byte[] buffer, int offset, int count) { }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

/// <summary>Room messages the fuzzer (XmppStanzaFuzzTests) found to throw out of the stanza-to-event translation.</summary>
public sealed class StanzaFuzzFindingTests
{
    private static readonly XmppConnector Connector = new(
        new Bridge.Core.Configuration.NetworkDefinition { Id = "xmpp-a", Kind = Bridge.Core.Model.NetworkKind.Xmpp, Organisation = "org-x" },
        new XmppOptions { Host = "127.0.0.1", ComponentDomain = "bridge.localhost", Secret = "s" },
        new Bridge.Core.Connectors.ConnectorContext
        {
            Sink = null!, // the translation reaches neither the sink nor the store
            State = null!,
            Topology = new Bridge.Core.Configuration.BridgeTopology([], []),
            LoggerFactory = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
        });

    [Fact]
    public void An_out_of_band_url_that_does_not_parse_keeps_the_message_and_names_the_file_from_its_text()
    {
        var message = System.Xml.Linq.XElement.Parse(
            "<message xmlns='jabber:component:accept' type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m6'>" +
            "<body>see cat.png</body><x xmlns='jabber:x:oob'><url>http://[bad/a/cat.png</url></x></message>");
        var room = new Bridge.Xmpp.Muc.RoomState("room", new Bridge.Xmpp.Protocol.Jid("ops", "conference.localhost", null));
        var e = Connector.Translate(room, message, live: true, archiveStanzaId: null);
        Assert.NotNull(e);
        Assert.Equal("see cat.png", e.Text);
        Assert.Equal("cat.png", Assert.Single(e.Attachments).Name);
    }
}
