using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>
/// A loopback TCP server standing in for Prosody's component port, so tests can send what a real server never would
/// (malformed XML, entity bombs, oversized stanzas, unknown namespaces). Each accepted connection runs
/// <see cref="Script"/> with a <see cref="FakeSession"/>.
/// </summary>
public sealed class FakeComponentServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<FakeSession> _sessions = [];
    private readonly Lock _lock = new();
    private readonly Task _acceptLoop;

    public FakeComponentServer(Func<FakeSession, int, Task> script)
    {
        Script = script;
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public Func<FakeSession, int, Task> Script { get; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public IReadOnlyList<FakeSession> Sessions
    {
        get
        {
            lock (_lock)
            {
                return _sessions.ToList();
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        var index = 0;
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            var session = new FakeSession(client, _stop.Token);
            lock (_lock)
            {
                _sessions.Add(session);
            }

            var n = index++;
            _ = Task.Run(async () =>
            {
                try
                {
                    await Script(session, n);
                }
                catch (Exception ex)
                {
                    session.Failure = ex;
                }
            });
        }
    }

    public async Task<IReadOnlyList<FakeSession>> WaitForSessionsAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Sessions.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Sessions.Count} of {count} connections after {timeout}");
            }

            await Task.Delay(20);
        }

        return Sessions;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop.ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (var session in Sessions)
        {
            session.Dispose();
        }

        _stop.Dispose();
    }
}

/// <summary>One connection to the fake server: raw text in both directions.</summary>
public sealed class FakeSession : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly StringBuilder _received = new();
    private readonly Lock _lock = new();
    private readonly CancellationToken _stop;

    public FakeSession(TcpClient client, CancellationToken stop)
    {
        _client = client;
        _stream = client.GetStream();
        _stop = stop;
        _ = Task.Run(ReadLoopAsync, CancellationToken.None);
    }

    public Exception? Failure { get; set; }

    public bool Closed { get; private set; }

    /// <summary>Everything the connector sent on this connection.</summary>
    public string Received
    {
        get
        {
            lock (_lock)
            {
                return _received.ToString();
            }
        }
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[8192];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[8192];
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer, _stop);
                if (n == 0)
                {
                    break;
                }

                var c = decoder.GetChars(buffer, 0, n, chars, 0);
                lock (_lock)
                {
                    _received.Append(chars, 0, c);
                }
            }
        }
        catch (Exception)
        {
            // closed
        }

        Closed = true;
    }

    public async Task<Match> WaitForAsync(Regex pattern, TimeSpan? timeout = null, int occurrence = 1)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var matches = pattern.Matches(Received);
            if (matches.Count >= occurrence)
            {
                return matches[occurrence - 1];
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{pattern}' not received; got: {Received}");
            }

            await Task.Delay(10, _stop);
        }
    }

    public async Task SendAsync(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        await _stream.WriteAsync(bytes, _stop);
    }

    /// <summary>Plays Prosody's side of the XEP-0114 handshake; returns whether the digest matched the secret.</summary>
    public async Task<bool> HandshakeAsync(string secret, string componentDomain = "bridge.localhost", string streamId = "4f2a-stream", string? prolog = null)
    {
        await WaitForAsync(new Regex("<stream:stream[^>]*>"));
        await SendAsync((prolog ?? "<?xml version='1.0'?>") +
            $"<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='{componentDomain}' id='{streamId}'>");
        var handshake = await WaitForAsync(new Regex("<handshake>([0-9a-f]+)</handshake>"));
        var expected = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(streamId + secret)));
        if (handshake.Groups[1].Value != expected)
        {
            await SendAsync("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
            return false;
        }

        await SendAsync("<handshake/>");
        return true;
    }

    /// <summary>
    /// Answers the bot's join presence with a self-presence (status 110), like a room would; with
    /// <paramref name="nonAnonymous"/> also status 100 (the room shows everyone's real JID to everyone).
    /// </summary>
    public async Task AcceptBotJoinAsync(string room, string componentDomain = "bridge.localhost", bool answerArchiveQueries = true, bool nonAnonymous = false)
    {
        var join = await WaitForAsync(new Regex($"<presence[^>]*to=\"{Regex.Escape(room)}/([^\"]+)\""));
        await SendAsync($"<presence from='{room}/{join.Groups[1].Value}' to='{componentDomain}'>" +
                        "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/><status code='110'/>" +
                        (nonAnonymous ? "<status code='100'/>" : "") + "</x></presence>");
        if (answerArchiveQueries)
        {
            _ = Task.Run(() => AnswerArchiveQueriesAsync(room, componentDomain), CancellationToken.None);
        }
    }

    /// <summary>Waits until the connector has asked the room's archive (XEP-0313) at least <paramref name="count"/> times.</summary>
    public Task WaitForArchiveQueryAsync(int count = 1) => WaitForAsync(ArchiveQuery, occurrence: count);

    private static readonly Regex ArchiveQuery = new("<iq [^>]*id=\"([^\"]+)\"[^>]*>\\s*<query[^>]*urn:xmpp:mam:2");

    /// <summary>Answers every archive query of this connection with an empty, complete result, in the background.</summary>
    private async Task AnswerArchiveQueriesAsync(string room, string componentDomain)
    {
        for (var n = 1; !_stop.IsCancellationRequested && !Closed; n++)
        {
            Match iq;
            try
            {
                iq = await WaitForAsync(ArchiveQuery, TimeSpan.FromMinutes(5), occurrence: n);
            }
            catch (Exception)
            {
                return;
            }

            await SendAsync($"<iq type='result' id='{iq.Groups[1].Value}' from='{room}' to='{componentDomain}'><fin xmlns='urn:xmpp:mam:2' complete='true'/></iq>");
        }
    }

    public static string GroupchatMessage(string room, string nick, string stanzaId, string body) =>
        $"<message type='groupchat' from='{room}/{nick}' to='bridge.localhost' id='m-{stanzaId}'><body>{body}</body>" +
        $"<stanza-id xmlns='urn:xmpp:sid:0' by='{room}' id='{stanzaId}'/></message>";

    public void Dispose()
    {
        _client.Dispose();
    }
}
