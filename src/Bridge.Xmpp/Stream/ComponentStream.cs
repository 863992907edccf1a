using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Bridge.Xmpp.Protocol;

namespace Bridge.Xmpp.Stream;

/// <summary>
/// One XEP-0114 component connection: opens the stream, performs the SHA-1 handshake, then reads stanzas strictly
/// (no DTD, no entities beyond the predefined five, no comments or processing instructions, bounded size and depth,
/// only known top-level elements) and writes stanzas after checking that they come from our domain.
/// Not thread-safe for reading (one reader loop); writes are serialised.
/// </summary>
internal sealed class ComponentStream : IAsyncDisposable
{
    internal const int MaxDepth = 48;

    private readonly IDisposable _connection;
    private readonly System.IO.Stream _network;
    private readonly StanzaBudgetStream _budget;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly string _componentDomain;
    private readonly int _maxStanzaBytes;
    private XmlReader? _reader;
    private volatile bool _closed; // written by a closing sender while the reader loop reads it

    private ComponentStream(TcpClient tcp, string componentDomain, int maxStanzaBytes)
        : this(tcp.GetStream(), tcp, componentDomain, maxStanzaBytes)
    {
        tcp.NoDelay = true;
    }

    private ComponentStream(System.IO.Stream transport, IDisposable connection, string componentDomain, int maxStanzaBytes)
    {
        _connection = connection;
        _network = transport;
        _budget = new StanzaBudgetStream(_network);
        _componentDomain = componentDomain;
        _maxStanzaBytes = maxStanzaBytes;
    }

    public string StreamId { get; private set; } = "";

    /// <summary>We sent (or are sending) <c>&lt;/stream:stream&gt;</c>: the end of the stream that follows is ours.</summary>
    public bool ClosedLocally { get; private set; }

    /// <summary>The peer ended the connection between stanzas without sending <c>&lt;/stream:stream&gt;</c>.</summary>
    public bool EndedWithoutClose { get; private set; }

    /// <summary>Connects, opens the stream and authenticates. Throws <see cref="XmppHandshakeException"/> when refused.</summary>
    public static async Task<ComponentStream> ConnectAsync(string host, int port, string componentDomain, string secret, int maxStanzaBytes,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        var tcp = new TcpClient();
        ComponentStream? stream = null;
        try
        {
            await tcp.ConnectAsync(host, port, timeoutCts.Token);
            stream = new ComponentStream(tcp, componentDomain, maxStanzaBytes);
            // The reader cannot be cancelled; closing the socket on timeout unblocks it.
            await using var reg = timeoutCts.Token.Register(() => tcp.Close());
            await stream.OpenAsync(secret, timeoutCts.Token);
            return stream;
        }
        catch (Exception ex) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested && ex is not XmppHandshakeException)
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }

            tcp.Dispose();
            throw new TimeoutException($"component connection to {host}:{port} timed out after {timeout}", ex);
        }
        catch (XmppStreamViolationException ex) when (stream is not null)
        {
            // Tell the server why we hang up (e.g. a DTD in its prolog), then give up on this connection.
            await stream.SendStreamErrorAndCloseAsync(ex.Condition, ex.Message);
            await stream.DisposeAsync();
            throw;
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }

            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Opens and authenticates over an already connected transport (the fuzz tests feed the reader from memory).</summary>
    internal static async Task<ComponentStream> OpenOverAsync(System.IO.Stream transport, string componentDomain, string secret, int maxStanzaBytes,
        CancellationToken cancellationToken)
    {
        var stream = new ComponentStream(transport, transport, componentDomain, maxStanzaBytes);
        try
        {
            await stream.OpenAsync(secret, cancellationToken);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    private async Task OpenAsync(string secret, CancellationToken cancellationToken)
    {
        var header = $"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='{SecurityElement(_componentDomain)}'>";
        await WriteRawAsync(header, cancellationToken);

        var settings = new XmlReaderSettings
        {
            Async = true,
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            IgnoreComments = false,
            IgnoreProcessingInstructions = false,
            IgnoreWhitespace = false,
            CheckCharacters = true,
            MaxCharactersFromEntities = 1024,
            CloseInput = false,
            ConformanceLevel = ConformanceLevel.Document,
        };
        _budget.StartBudget(_maxStanzaBytes);
        _reader = XmlReader.Create(_budget, settings);
        try
        {
            while (await _reader.ReadAsync())
            {
                switch (_reader.NodeType)
                {
                    case XmlNodeType.XmlDeclaration:
                    case XmlNodeType.Whitespace:
                        continue;
                    case XmlNodeType.Element:
                        if (_reader.LocalName != "stream" || _reader.NamespaceURI != Ns.Streams.NamespaceName)
                        {
                            throw new XmppStreamViolationException("invalid-namespace", $"expected a stream header, got <{_reader.Name}> in '{_reader.NamespaceURI}'");
                        }

                        if (_reader.LookupNamespace(string.Empty) != Ns.Component.NamespaceName)
                        {
                            throw new XmppStreamViolationException("invalid-namespace", $"stream default namespace is '{_reader.LookupNamespace(string.Empty)}', not jabber:component:accept");
                        }

                        StreamId = _reader.GetAttribute("id") ?? "";
                        if (StreamId.Length == 0)
                        {
                            throw new XmppHandshakeException("the server's stream header has no id");
                        }

                        goto handshake;
                    default:
                        throw new XmppStreamViolationException("restricted-xml", $"unexpected {_reader.NodeType} before the stream header");
                }
            }

            throw new XmppStreamClosedException("connection closed before the stream header");
        }
        catch (XmlException ex)
        {
            throw Classify(ex);
        }
        catch (ArgumentException ex)
        {
            throw BadEncoding(ex);
        }

    handshake:
        var digest = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(StreamId + secret)));
        await WriteRawAsync($"<handshake>{digest}</handshake>", cancellationToken);
        var reply = await ReadStanzaAsync(cancellationToken);
        if (reply is null)
        {
            throw new XmppHandshakeException("the server closed the stream during the handshake");
        }

        if (reply.Name == Ns.Component + "handshake")
        {
            return;
        }

        if (reply.Name == Ns.Streams + "error")
        {
            var condition = StreamErrorCondition(reply);
            throw new XmppHandshakeException($"handshake refused: {condition} {StreamErrorText(reply)}".TrimEnd(), condition);
        }

        throw new XmppHandshakeException($"unexpected <{reply.Name.LocalName}> in reply to the handshake");
    }

    /// <summary>
    /// Reads the next top-level element. Returns null when the peer closed the stream. Throws
    /// <see cref="XmppStreamViolationException"/> for input we refuse (the caller answers with a stream error).
    /// </summary>
    public async Task<XElement?> ReadStanzaAsync(CancellationToken cancellationToken)
    {
        var reader = _reader ?? throw new InvalidOperationException("stream not open");
        _budget.StartBudget(_maxStanzaBytes);
        var insideStanza = false;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!await reader.ReadAsync())
                {
                    return null;
                }

                switch (reader.NodeType)
                {
                    case XmlNodeType.Whitespace:
                    case XmlNodeType.SignificantWhitespace:
                        // Whitespace keepalives between stanzas: restart the budget so they never add up.
                        _budget.StartBudget(_maxStanzaBytes);
                        continue;
                    case XmlNodeType.EndElement when reader.Depth == 0:
                        _closed = true;
                        return null;
                    case XmlNodeType.Element:
                        insideStanza = true;
                        var element = await ReadElementAsync(reader);
                        CheckTopLevel(element);
                        return element;
                    case XmlNodeType.Text:
                        throw new XmppStreamViolationException("bad-format", "text outside any stanza");
                    default:
                        throw new XmppStreamViolationException("restricted-xml", $"{reader.NodeType} is not allowed in an XMPP stream");
                }
            }
        }
        catch (XmlException ex) when (_budget.EndOfInput || _closed)
        {
            // The connection ended (or we are closing it) before </stream:stream>: XmlReader calls that an unexpected end
            // of file, but it is a peer going away (Prosody closes the socket without </stream:stream> when it stops),
            // not malformed input. Between stanzas nothing is lost: the same as a closed stream.
            if (!insideStanza || _closed)
            {
                EndedWithoutClose = !_closed;
                _closed = true;
                return null;
            }

            throw new XmppStreamClosedException("connection ended inside a stanza", inner: ex);
        }
        catch (XmlException ex)
        {
            throw Classify(ex);
        }
        catch (ArgumentException ex)
        {
            throw BadEncoding(ex);
        }
        catch (IOException) when (_closed)
        {
            // We sent </stream:stream> and the socket went away: the close we asked for.
            return null;
        }
        catch (IOException ex)
        {
            throw new XmppStreamClosedException("connection lost: " + ex.Message, inner: ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new XmppStreamClosedException("connection closed", inner: ex);
        }
    }

    private static void CheckTopLevel(XElement element)
    {
        var name = element.Name;
        if (name.Namespace == Ns.Component && name.LocalName is "message" or "presence" or "iq" or "handshake")
        {
            return;
        }

        if (name.Namespace == Ns.Streams && name.LocalName is "error" or "features")
        {
            return;
        }

        if (name.Namespace == Ns.Component)
        {
            throw new XmppStreamViolationException("unsupported-stanza-type", $"unknown top-level element <{name.LocalName}>");
        }

        throw new XmppStreamViolationException("invalid-namespace", $"top-level element <{name.LocalName}> in unknown namespace '{name.NamespaceName}'");
    }

    /// <summary>Builds the element the reader is positioned on, iteratively, enforcing depth and size.</summary>
    private async Task<XElement> ReadElementAsync(XmlReader reader)
    {
        long chars = 0;
        var root = NewElement(reader, ref chars);
        if (reader.IsEmptyElement)
        {
            return root;
        }

        var stack = new Stack<XElement>();
        stack.Push(root);
        while (await reader.ReadAsync())
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    var child = NewElement(reader, ref chars);
                    stack.Peek().Add(child);
                    if (!reader.IsEmptyElement)
                    {
                        if (stack.Count >= MaxDepth)
                        {
                            throw new XmppStreamViolationException("policy-violation", $"stanza nested deeper than {MaxDepth}");
                        }

                        stack.Push(child);
                    }

                    break;
                case XmlNodeType.EndElement:
                    var done = stack.Pop();
                    if (stack.Count == 0)
                    {
                        return done;
                    }

                    break;
                case XmlNodeType.Text:
                case XmlNodeType.CDATA:
                case XmlNodeType.Whitespace:
                case XmlNodeType.SignificantWhitespace:
                    var text = reader.Value;
                    chars += text.Length;
                    CheckSize(chars);
                    stack.Peek().Add(new XText(text));
                    break;
                default:
                    throw new XmppStreamViolationException("restricted-xml", $"{reader.NodeType} is not allowed in an XMPP stream");
            }
        }

        throw new XmppStreamClosedException("stream ended inside a stanza");
    }

    private XElement NewElement(XmlReader reader, ref long chars)
    {
        var element = new XElement(XName.Get(reader.LocalName, reader.NamespaceURI));
        chars += reader.LocalName.Length + 2;
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                if (reader.NamespaceURI == "http://www.w3.org/2000/xmlns/")
                {
                    continue; // namespace declarations are carried by the names themselves
                }

                chars += reader.LocalName.Length + reader.Value.Length + 4;
                element.SetAttributeValue(XName.Get(reader.LocalName, reader.NamespaceURI), reader.Value);
            }
            while (reader.MoveToNextAttribute());

            reader.MoveToElement();
        }

        CheckSize(chars);
        return element;
    }

    private void CheckSize(long chars)
    {
        if (chars > _maxStanzaBytes)
        {
            throw new XmppStreamViolationException("policy-violation", $"stanza larger than {_maxStanzaBytes} bytes");
        }
    }

    /// <summary>
    /// XmlReader throws ArgumentOutOfRangeException (not XmlException) for some byte sequences that are not valid in
    /// the declared encoding (found by fuzzing): that is malformed input too, answered with a stream error.
    /// </summary>
    private static XmppStreamViolationException BadEncoding(ArgumentException ex) =>
        new("not-well-formed", "malformed XML (bad encoding): " + ex.Message, ex);

    private static Exception Classify(XmlException ex)
    {
        // A DTD (and with it any entity definition, the "billion laughs") is refused outright.
        var message = ex.Message;
        if (message.Contains("DTD", StringComparison.OrdinalIgnoreCase) || message.Contains("DOCTYPE", StringComparison.OrdinalIgnoreCase))
        {
            return new XmppStreamViolationException("restricted-xml", "DTD/entity declarations are not allowed: " + message, ex);
        }

        if (ex.InnerException is XmppStreamViolationException violation)
        {
            return violation;
        }

        return new XmppStreamViolationException("not-well-formed", "malformed XML: " + message, ex);
    }

    /// <summary>Checks and writes one stanza. Throws <see cref="StanzaRejectedException"/> (nothing written) if it fails our checks.</summary>
    public async Task SendAsync(XElement stanza, CancellationToken cancellationToken)
    {
        var text = Serialize(stanza, _componentDomain, _maxStanzaBytes);
        await WriteRawAsync(text, cancellationToken);
    }

    /// <summary>Writes stanzas <see cref="Serialize"/> already checked and serialised, in one write.</summary>
    public Task SendSerializedAsync(string stanzas, CancellationToken cancellationToken) => WriteRawAsync(stanzas, cancellationToken);

    /// <summary>Serialises a stanza after checking it: known kind, <c>from</c> inside our domain, a valid <c>to</c>, bounded size, valid characters.</summary>
    internal static string Serialize(XElement stanza, string componentDomain, int maxStanzaBytes)
    {
        if (stanza.Name.Namespace != Ns.Component || stanza.Name.LocalName is not ("message" or "presence" or "iq"))
        {
            throw new StanzaRejectedException($"refusing to send <{stanza.Name}>: not a stanza");
        }

        var from = (string?)stanza.Attribute("from");
        if (!Jid.TryParse(from, out var fromJid) || !string.Equals(fromJid.Value.Domain, componentDomain, StringComparison.OrdinalIgnoreCase))
        {
            // The server closes the whole component stream for a foreign 'from': never let one stanza do that.
            throw new StanzaRejectedException($"refusing to send a stanza from '{from}': not inside {componentDomain}");
        }

        var to = (string?)stanza.Attribute("to");
        if (!Jid.TryParse(to, out _))
        {
            throw new StanzaRejectedException($"refusing to send a stanza to '{to}': not a JID");
        }

        string text;
        try
        {
            var sb = new StringBuilder(256);
            using (var writer = XmlWriter.Create(sb, new XmlWriterSettings
            {
                OmitXmlDeclaration = true,
                ConformanceLevel = ConformanceLevel.Fragment,
                CheckCharacters = true,
                NewLineHandling = NewLineHandling.Entitize,
            }))
            {
                stanza.WriteTo(writer);
            }

            text = sb.ToString();
        }
        catch (ArgumentException ex)
        {
            throw new StanzaRejectedException("refusing to send a stanza with characters XML cannot carry: " + ex.Message);
        }

        if (Encoding.UTF8.GetByteCount(text) > maxStanzaBytes)
        {
            throw new StanzaRejectedException($"refusing to send a stanza larger than {maxStanzaBytes} bytes");
        }

        return text;
    }

    /// <summary>Tells the peer why we close, then closes. Never throws.</summary>
    public async Task SendStreamErrorAndCloseAsync(string condition, string text)
    {
        try
        {
            var error = new XElement(Ns.Streams + "error",
                new XAttribute(XNamespace.Xmlns + "stream", Ns.Streams.NamespaceName),
                new XElement(Ns.StreamErrors + condition),
                new XElement(Ns.StreamErrors + "text", text.Length > 200 ? text[..200] : text));
            var sb = new StringBuilder();
            using (var writer = XmlWriter.Create(sb, new XmlWriterSettings { OmitXmlDeclaration = true, ConformanceLevel = ConformanceLevel.Fragment }))
            {
                error.WriteTo(writer);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await WriteRawAsync(sb + "</stream:stream>", cts.Token);
        }
        catch (Exception)
        {
            // The connection is going away anyway.
        }

        _closed = true;
    }

    /// <summary>Ends the stream politely.</summary>
    public async Task CloseAsync()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        ClosedLocally = true;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await WriteRawAsync("</stream:stream>", cts.Token);
        }
        catch (Exception)
        {
            // Best effort.
        }
    }

    private async Task WriteRawAsync(string text, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _network.WriteAsync(bytes, cancellationToken);
        }
        catch (IOException ex)
        {
            throw new XmppStreamClosedException("connection lost while writing: " + ex.Message, inner: ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new XmppStreamClosedException("connection closed", inner: ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public static string StreamErrorCondition(XElement error) =>
        error.Elements().FirstOrDefault(e => e.Name.Namespace == Ns.StreamErrors && e.Name.LocalName != "text")?.Name.LocalName ?? "undefined-condition";

    public static string StreamErrorText(XElement error) =>
        (string?)error.Element(Ns.StreamErrors + "text") ?? "";

    private static string SecurityElement(string value) => System.Security.SecurityElement.Escape(value) ?? "";

    public ValueTask DisposeAsync()
    {
        _connection.Dispose(); // first: unblocks a read in progress
        try
        {
            _reader?.Dispose();
        }
        catch (InvalidOperationException)
        {
            // A read is still in flight on another thread; it fails on the closed socket and the reader is dropped.
        }

        // The write lock is not disposed: a concurrent sender may still be waiting on it and must fail as 'closed'.
        return ValueTask.CompletedTask;
    }
}
