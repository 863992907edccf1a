using System.Text;
using System.Xml.Linq;
using BenchmarkDotNet.Attributes;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Xmpp;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.MicroBench;

/// <summary>
/// XMPP: reading one groupchat stanza off the component stream (strict reader), translating it to a core event, and
/// serialising an outgoing stanza (the checked writer every send goes through). Public and unsealed: BenchmarkDotNet's rule.
/// </summary>
[BenchmarkCategory("xmpp")]
public class XmppBenchmarks
{
    private const string Header = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='bridge.localhost'><handshake/>";
    private const int StanzasPerRead = 100;

    private static readonly string Stanza =
        "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m1'><body>hello &amp; welcome to the *ops* room, see https://example.org/a</body>" +
        "<stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='ops@conference.localhost'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='o1'/><origin-id xmlns='urn:xmpp:sid:0' id='m1'/></message>";

    private readonly byte[] _streamBytes = Encoding.UTF8.GetBytes(Header + string.Concat(Enumerable.Repeat(Stanza, StanzasPerRead)));
    private XmppConnector _connector = null!;
    private RoomState _room = null!;
    private XElement _parsed = null!;
    private XElement _outgoing = null!;

    [GlobalSetup]
    public void Setup()
    {
        _connector = new XmppConnector(
            new NetworkDefinition { Id = "xmpp-a", Kind = NetworkKind.Xmpp, Organisation = "org-x" },
            new XmppOptions { Host = "127.0.0.1", ComponentDomain = "bridge.localhost", Secret = "s" },
            new ConnectorContext { Sink = null!, State = null!, Topology = new BridgeTopology([], []), LoggerFactory = NullLoggerFactory.Instance });
        _room = new RoomState("room", new Jid("ops", "conference.localhost", null));
        _room.Occupants["eve"] = new OccupantInfo("eve@localhost/phone", "o1");
        _parsed = XElement.Parse(Stanza.Replace("<message ", "<message xmlns='jabber:component:accept' ", StringComparison.Ordinal));
        _outgoing = new XElement(Ns.Component + "message",
            new XAttribute("from", "remote\\2falice@bridge.localhost"), new XAttribute("to", "ops@conference.localhost"),
            new XAttribute("type", "groupchat"), new XAttribute("id", "bridge-42"),
            new XElement(Ns.Component + "body", "hello & welcome to the *ops* room, see https://example.org/a"),
            new XElement(XName.Get("origin-id", "urn:xmpp:sid:0"), new XAttribute("id", "bridge-42")));
    }

    /// <summary>Per stanza: 100 stanzas read from one buffer through the strict component-stream reader.</summary>
    [Benchmark(OperationsPerInvoke = StanzasPerRead)]
    public async Task<int> XmppStanzaRead()
    {
        await using var stream = await ComponentStream.OpenOverAsync(new ReadOnlyDuplex(_streamBytes), "bridge.localhost", "secret", 65536, CancellationToken.None);
        var n = 0;
        while (await stream.ReadStanzaAsync(CancellationToken.None) is not null)
        {
            n++;
        }

        return n;
    }

    [Benchmark]
    public BridgeEvent? XmppStanzaToEvent() => _connector.Translate(_room, _parsed, live: true, archiveStanzaId: null);

    [Benchmark]
    public string XmppStanzaSerialise() => ComponentStream.Serialize(_outgoing, "bridge.localhost", 65536);

    /// <summary>Reads from a fixed buffer; writes go nowhere (the handshake the reader sends).</summary>
    private sealed class ReadOnlyDuplex(byte[] bytes) : System.IO.Stream
    {
        private readonly MemoryStream _in = new(bytes, writable: false);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _in.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) { }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }
}
