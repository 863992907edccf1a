using System.Text;
using System.Xml;
using System.Xml.Linq;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Xmpp;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// Inbound stanza → bridge event: room messages (plain, corrections, retractions, reactions, replies with fallbacks,
/// out-of-band files, security labels, delays, stanza and occupant ids) read through the component stream exactly as
/// the connector reads them, then translated live and as archive results. Every case gives either no event or an
/// event whose fields are whole: text and names are strings XML could carry back, labels one per security label.
/// </summary>
public sealed class XmppStanzaFuzzTests
{
    private const string Header = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='bridge.localhost'><handshake/>";
    private const string Room = "ops@conference.localhost";

    // The translation needs only the connector's configuration: it reaches neither the sink nor the state store.
    private static readonly XmppConnector Connector = new(
        new NetworkDefinition { Id = "xmpp-a", Kind = NetworkKind.Xmpp, Organisation = "org-x" },
        new XmppOptions { Host = "127.0.0.1", ComponentDomain = "bridge.localhost", Secret = "s" },
        new ConnectorContext { Sink = null!, State = null!, Topology = new BridgeTopology([], []), LoggerFactory = NullLoggerFactory.Instance });

    private static readonly string[] Corpus =
    [
        "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m1'><body>hello &amp; [CUI] world</body><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='ops@conference.localhost'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='o1'/></message>",
        "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m2'><body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='m1'/><securitylabel xmlns='urn:xmpp:sec-label:0'><displaymarking fgcolor='black'>SECRET</displaymarking><label><esssecuritylabel xmlns='urn:xmpp:sec-label:ess:0'>MQYCAQQGASk=</esssecuritylabel></label></securitylabel></message>",
        "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m3'><body>&gt; eve wrote\n&gt; hello\n\nmy answer \ud83d\ude00</body><reply xmlns='urn:xmpp:reply:0' to='ops@conference.localhost/bob' id='m1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='24'/></fallback></message>",
        "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m4'><reactions xmlns='urn:xmpp:reactions:0' id='m1'><reaction>\ud83d\udc4d</reaction></reactions><store xmlns='urn:xmpp:hints'/></message>",
        "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m5'><retract xmlns='urn:xmpp:message-retract:1' id='m1'/><body>/me retracted</body></message>",
        "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m6'><body>https://up.example.org/a/cat.png</body><x xmlns='jabber:x:oob'><url>https://up.example.org/a/cat.png</url></x><delay xmlns='urn:xmpp:delay' stamp='2024-01-02T03:04:05Z'/></message>",
        "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m8'><body>bob: \ud83d\ude00 see</body><thread>s1</thread><reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:ops@conference.localhost/bob' begin='0' end='3'/></message>",
        "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m7'><apply-to xmlns='urn:xmpp:fasten:0' id='m1'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to><subject>topic</subject></message>",
    ];

    private static readonly string[] Tokens =
    [
        "<", ">", "/>", "</", "'", "\"", "=", "&amp;", "&lt;", "&#x1F600;", "<![CDATA[x]]>", "<body>", "</body>", "<body/>", "<subject/>", " id=''", " id='m1'", " id='bridge-1'",
        " from='ops@conference.localhost'", " from='ops@conference.localhost/'", " from='@/'", " from='ops@conference.localhost/bridge'", " to='x@bridge.localhost'", " type='error'",
        "<x xmlns='jabber:x:oob'><url>http://[::1</url></x>", "<x xmlns='jabber:x:oob'><url>:</url></x>", "<x xmlns='jabber:x:oob'><url>file:///etc/passwd</url></x>",
        "<x xmlns='jabber:x:oob'><url>%zz\\..\\a</url></x>", "<x xmlns='jabber:x:oob'><url>http://a/\u0000</url></x>", "<x xmlns='jabber:x:oob'/>",
        "<fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='5' end='2'/></fallback>", "<body start='-1' end='99999999999'/>", " start='0' end='1'",
        "<reply xmlns='urn:xmpp:reply:0'/>", "<reply xmlns='urn:xmpp:reply:0' id='m2'/>", "<replace xmlns='urn:xmpp:message-correct:0'/>", "<retract xmlns='urn:xmpp:message-retract:1'/>",
        "<reactions xmlns='urn:xmpp:reactions:0' id='x'/>", "<reaction/>", "<reaction>\u200d</reaction>", "<securitylabel xmlns='urn:xmpp:sec-label:0'/>",
        "<securitylabel xmlns='urn:xmpp:sec-label:0'><displaymarking/></securitylabel>", "<delay xmlns='urn:xmpp:delay' stamp='9999-99-99'/>", "<delay xmlns='urn:xmpp:delay' stamp='-1'/>",
        "<thread/>", "<thread>\u0001</thread>", " uri='xmpp:ops@conference.localhost/%zz'", " uri='xmpp:%40/bob'", " uri='xmpp:ops@conference.localhost/bob?join'", " begin='2' end='1'",
        " begin='1' end='2'", " end='999999999999'", "<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:ops@conference.localhost/bob'/>",
        "<stanza-id xmlns='urn:xmpp:sid:0' by='ops@conference.localhost'/>", "<occupant-id xmlns='urn:xmpp:occupant-id:0'/>", "/me ", "\n", "&gt; ", "\u202e", "\ud83d\ude00",
    ];

    private static readonly Gen<(string Stanza, bool Live)> Inputs = Gen.Select(
        Gen.Frequency((8, Mutator.Strings(Corpus, Tokens)), (1, Mutator.Tokens(Tokens, 30).Select(t => "<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost'>" + t + "</message>"))),
        Gen.Bool);

    [Fact]
    public void Mutated_room_messages_translate_to_whole_events_or_to_none() =>
        FuzzRunner.Run("xmpp-stanza", Inputs, input => Translate(input.Stanza, input.Live), input => Mutator.Show(input.Stanza) + (input.Live ? " live" : " archived"));

    private static bool Translate(string stanza, bool live)
    {
        var translated = 0;
        var messages = ReadStanzas(Encoding.UTF8.GetBytes(Header + stanza));
        foreach (var message in messages.Where(m => m.Name.LocalName == "message"))
        {
            var room = new RoomState("room", new Jid("ops", "conference.localhost", null));
            room.Occupants["bob"] = new OccupantInfo("bob@localhost/phone", "o-bob");
            if (Connector.Translate(room, message, live, archiveStanzaId: live ? null : "archived-1") is not { } e)
            {
                continue;
            }

            translated++;
            Assert.NotNull(e.Text);
            Assert.False(string.IsNullOrEmpty(e.NativeId));
            Assert.False(string.IsNullOrEmpty(e.Sender.UserId));
            Assert.Equal(message.Elements(Ns.SecLabel + "securitylabel").Count(), e.StructuredLabels.Count);
            Assert.All(e.Attachments, a => Assert.False(string.IsNullOrEmpty(a.Url) && string.IsNullOrEmpty(a.Source?.Reference)));
            // What came out of an XML document must be writable back into one (another XMPP network, the audit log).
            WritableAsXml(e.Text);
            WritableAsXml(e.Sender.DisplayName ?? "");
            foreach (var a in e.Attachments)
            {
                WritableAsXml(a.Name);
            }

            foreach (var m in e.Mentions)
            {
                Assert.False(string.IsNullOrEmpty(m.Written));
                WritableAsXml(m.Written);
            }

            if (e.ThreadRootNativeId is { } thread)
            {
                WritableAsXml(thread);
            }
        }

        return translated > 0;
    }

    private static List<XElement> ReadStanzas(byte[] bytes)
    {
        var stanzas = new List<XElement>();
        try
        {
            using var transport = new MemoryStream(bytes);
            var stream = Bridge.Xmpp.Stream.ComponentStream.OpenOverAsync(new Duplex(transport), "bridge.localhost", "secret", 65536, CancellationToken.None).GetAwaiter().GetResult();
            try
            {
                while (stream.ReadStanzaAsync(CancellationToken.None).GetAwaiter().GetResult() is { } stanza)
                {
                    stanzas.Add(stanza);
                }
            }
            finally
            {
                stream.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception ex) when (ex is Bridge.Xmpp.Stream.XmppStreamViolationException or Bridge.Xmpp.Stream.XmppStreamClosedException or Bridge.Xmpp.Stream.XmppHandshakeException)
        {
            // The stream's own refusal (fuzzed in XmppStreamFuzzTests); whatever was read before it still counts.
        }

        return stanzas;
    }

    private static void WritableAsXml(string text)
    {
        using var writer = XmlWriter.Create(new StringBuilder(), new XmlWriterSettings { ConformanceLevel = ConformanceLevel.Fragment, CheckCharacters = true });
        writer.WriteElementString("body", text);
    }

    /// <summary>Reads from the scripted server bytes; what the component writes is dropped.</summary>
    private sealed class Duplex(MemoryStream input) : System.IO.Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => input.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => input.ReadAsync(buffer, offset, count, cancellationToken);
        public override void Write(byte[] buffer, int offset, int count) { }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
