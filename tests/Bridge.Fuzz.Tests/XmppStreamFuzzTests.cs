using System.Text;
using System.Xml;
using System.Xml.Linq;
using Bridge.Xmpp.Stream;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// The XEP-0114 component stream reader (handshake and stanzas) fed mutated server byte streams, split at random
/// byte boundaries, with invalid UTF-8, deep nesting, huge attributes and DTD/entity tricks. Every case either yields
/// well-formed, known top-level stanzas or ends with one of the stream's own exceptions (answered with a stream error).
/// </summary>
public sealed class XmppStreamFuzzTests
{
    private const string Header = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='bridge.localhost'>";
    private const int MaxStanzaBytes = 8192;

    private static readonly string[] Corpus =
    [
        Header + "<handshake/><message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost' id='m1'><body>hello &amp; &lt;world&gt;</body></message></stream:stream>",
        Header + "<handshake/>  <presence from='ops@conference.localhost/eve' to='bot@bridge.localhost/x'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant'/><status code='110'/></x></presence>\n",
        Header + "<handshake/><iq type='get' id='q1' from='localhost' to='bridge.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq><message from='a@b/c' to='d@bridge.localhost'><body><![CDATA[x < y]]></body><securitylabel xmlns='urn:xmpp:sec-label:0'><displaymarking>CUI</displaymarking></securitylabel></message>",
        Header + "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>no</text></stream:error></stream:stream>",
        Header + "<handshake/><message from='ops@conference.localhost/eve' to='bridge.localhost'><body>caf\u00e9 \ud83d\ude00 \u202e</body><stanza-id xmlns='urn:xmpp:sid:0' id='x' by='ops@conference.localhost'/></message>",
    ];

    private static readonly string[] Tokens =
    [
        "<", ">", "/>", "</", "'", "\"", "=", "&", ";", "&amp;", "&lt;", "&#0;", "&#x1F600;", "&#xD800;", "&lol;", "<![CDATA[", "]]>", "<!--", "-->", "<?pi x?>",
        "<!DOCTYPE x [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]>", "<!ENTITY e SYSTEM 'file:///etc/passwd'>", "&e;",
        "<x xmlns='urn:a'>", "</x>", "<body>", "</body>", "<message>", "</message>", "xmlns='jabber:component:accept'", "xmlns:stream='http://etherx.jabber.org/streams'",
        "xmlns=''", "xmlns:a='urn:b'", " a:b='c'", " id='x'", " to='bridge.localhost'", "</stream:stream>", "<stream:stream>", "<handshake/>", "\u0000", "\u0001", " ", "\n", "\t",
        "<?xml version='1.0'?>", "<?xml version='1.1' encoding='utf-16'?>", "\ufeff",
    ];

    private static readonly Gen<byte[]> ByteNoise = Gen.Frequency(
        (2, Gen.OneOf(new byte[] { 0xff }, [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xef, 0xbb, 0xbf], [0xfe, 0xff])),
        (1, Gen.Byte.Array[1, 4]));

    private static readonly Gen<(byte[] Bytes, int[] Chunks)> Inputs = Gen.Select(
        Mutator.Strings(Corpus, Tokens),
        Gen.Select(Gen.Double[0, 1], ByteNoise).Array[0, 2],
        Gen.Int[1, 97].Array[1, 12],
        (text, noise, chunks) =>
        {
            var bytes = new List<byte>(Encoding.UTF8.GetBytes(text));
            foreach (var (at, raw) in noise)
            {
                bytes.InsertRange((int)(at * bytes.Count), raw);
            }

            return (bytes.ToArray(), chunks);
        });

    [Fact]
    public void Mutated_component_streams_give_well_formed_stanzas_or_a_stream_error() =>
        FuzzRunner.Run("xmpp-stream", Inputs, input => ReadAll(input.Bytes, input.Chunks) > 0, input => Mutator.Show(Encoding.Latin1.GetString(input.Bytes)) + " chunks " + string.Join(",", input.Chunks));

    internal static int ReadAll(byte[] bytes, int[] chunks)
    {
        var stanzas = 0;
        try
        {
            using var transport = new ScriptedTransport(bytes, chunks);
            var stream = ComponentStream.OpenOverAsync(transport, "bridge.localhost", "secret", MaxStanzaBytes, CancellationToken.None).GetAwaiter().GetResult();
            try
            {
                while (stream.ReadStanzaAsync(CancellationToken.None).GetAwaiter().GetResult() is { } stanza)
                {
                    AssertWellFormed(stanza);
                    Assert.True(++stanzas <= bytes.Length, "more stanzas than input bytes");
                }
            }
            finally
            {
                stream.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception ex) when (ex is XmppStreamViolationException or XmppStreamClosedException or XmppHandshakeException)
        {
            // The documented outcomes for bad input: the connector answers with a stream error and reconnects.
        }

        return stanzas;
    }

    private static void AssertWellFormed(XElement stanza)
    {
        Assert.Contains(stanza.Name.NamespaceName, new[] { "jabber:component:accept", "http://etherx.jabber.org/streams" });
        var sb = new StringBuilder();
        using (var writer = XmlWriter.Create(sb, new XmlWriterSettings { ConformanceLevel = ConformanceLevel.Fragment, CheckCharacters = true }))
        {
            stanza.WriteTo(writer);
        }

        Assert.True(sb.Length <= MaxStanzaBytes * 6L + 1024, "a stanza far larger than the budget came through");
        Assert.True(stanza.DescendantsAndSelf().All(e => e.Ancestors().Count() < ComponentStream.MaxDepth + 1), "nesting deeper than the limit came through");
    }

    /// <summary>The server side of a connection: hands out the scripted bytes in the given chunk sizes, then end of stream; writes are dropped.</summary>
    private sealed class ScriptedTransport(byte[] data, int[] chunks) : System.IO.Stream
    {
        private int _position;
        private int _reads;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, chunks[_reads++ % chunks.Length]), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = Math.Min(Math.Min(buffer.Length, chunks[_reads++ % chunks.Length]), data.Length - _position);
            data.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return ValueTask.FromResult(n);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) { }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
