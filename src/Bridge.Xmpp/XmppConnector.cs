using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Threading.Channels;
using System.Xml.Linq;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

/// <summary>
/// The edge toward one XMPP server, as an XEP-0114 component. Every bridged person is a puppet JID under the
/// component domain that joins the linked MUC rooms; each room is read through exactly one occupant, the bridge bot.
/// </summary>
/// <remarks>
/// Threads: one connection loop (connect, read, dispatch), one setup task per connection (joins, catch-up), one ingest
/// worker (hands events to the core in arrival order), one persistence loop, and the delivery worker's calls.
/// Shared mutable state is guarded by <see cref="_gate"/>; waits use task completion sources.
/// </remarks>
internal sealed partial class XmppConnector : INetworkConnector, IRunDelivery, IConnectorVitalsSource
{
    /// <summary>Our outgoing message ids start with this (the core's idempotency key), which also marks them as ours.</summary>
    internal const string OwnIdPrefix = "bridge-";

    private readonly NetworkDefinition _network;
    private readonly XmppOptions _options;
    private readonly Bridge.Core.Text.Formatting.MessageFormatter _formatter = new();
    private readonly ConnectorContext _context;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RoomState> _roomsByJid = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, RoomState> _roomsByChannel = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Occupant, string Room), Occupancy> _occupancies = [];
    private readonly ConcurrentDictionary<string, TaskCompletionSource<XElement>> _pendingIq = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<XElement>> _pendingSends = new(StringComparer.Ordinal);
    private readonly LruMap<string> _sentStanzaIds;
    private readonly Channel<InboundItem> _inbound = Channel.CreateBounded<InboundItem>(new BoundedChannelOptions(10_000)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly string _stateScope;

    /// <summary>Room joins, unlocks and catch-up archive queries at set-up, a few at a time (<see cref="XmppOptions.JoinConcurrency"/>).</summary>
    private readonly RoomSetupPacer _setupPacer;

    /// <summary>Occupant ids that never reveal a JID the room hides; its salt is read from the store at start.</summary>
    private volatile OccupantIdentity _identity = new(RandomNumberGenerator.GetBytes(32));

    private const string IdentitySaltKey = "identity-salt";
    private readonly ConnectionHistory _history;
    private readonly Jid _botJid;
    private CancellationTokenSource? _lifetime;
    private Task? _connectionLoop;
    private Task? _ingestWorker;
    private Task? _persistLoop;
    private volatile ComponentStream? _stream;
    private volatile bool _ready;
    private long _connectionGeneration;
    private long _iqCounter;
    private bool _crashed;

    public XmppConnector(NetworkDefinition network, XmppOptions options, ConnectorContext context)
    {
        _network = network;
        _options = options;
        _context = context;
        _logger = context.LoggerFactory.CreateLogger("Bridge.Xmpp." + network.Id);
        _stateScope = $"xmpp:{network.Id}";
        _sentStanzaIds = new LruMap<string>(options.SentIdCacheSize);
        _setupPacer = new RoomSetupPacer(options.JoinConcurrency);
        _history = new ConnectionHistory(context.Time);
        _botJid = new Jid(null, options.ComponentDomain.ToLowerInvariant(), null);
    }

    public string NetworkId => _network.Id;

    public NetworkKind Kind => NetworkKind.Xmpp;

    public bool IsReady => _ready;

    /// <summary>How many times the component stream has been (re-)established; for tests and health.</summary>
    internal long ConnectionCount => Interlocked.Read(ref _connectionGeneration);

    internal IReadOnlyCollection<RoomState> Rooms
    {
        get
        {
            lock (_gate)
            {
                return _roomsByJid.Values.ToList();
            }
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var channel in _context.Topology.ChannelsOf(_network.Id))
        {
            if (!TryResolveRoom(channel, out var jid))
            {
                _logger.LogError(XmppLog.UnknownRoom, "Channel '{Channel}' of network {Network} is not a room JID and no mucService is configured; it is not bridged", channel, _network.Id);
                continue;
            }

            var room = new RoomState(channel, jid, _options.RoomIdCacheSize);
            _roomsByJid[room.Key] = room;
            _roomsByChannel[channel] = room;
            try
            {
                room.LastStanzaId = await _context.State.GetAsync(_stateScope, LastIdKey(room), cancellationToken);
                room.PersistedStanzaId = room.LastStanzaId;
                room.PendingPersist = room.LastStanzaId;
                if (DateTimeOffset.TryParse(await _context.State.GetAsync(_stateScope, LastStampKey(room), cancellationToken),
                        System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var stamp))
                {
                    room.LastStamp = stamp;
                    room.PersistedStamp = stamp;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogWarning(XmppLog.StateFailed, ex, "Could not read the catch-up position of {Room}; starting without one", room.Key);
            }
        }

        await LoadSendMarksAsync(cancellationToken);
        await LoadIdentitySaltAsync(cancellationToken);
        _lifetime = new CancellationTokenSource();
        var token = _lifetime.Token;
        _ingestWorker = Task.Run(() => IngestWorkerAsync(token), CancellationToken.None);
        _persistLoop = Task.Run(() => PersistLoopAsync(token), CancellationToken.None);
        _connectionLoop = Task.Run(() => ConnectionLoopAsync(token), CancellationToken.None);
    }

    /// <summary>
    /// The secret salt of hidden occupant ids, made once per network and kept in the store, so a person keeps their
    /// puppets across restarts. Without a store the salt lives for this run only (people get new puppets next run).
    /// </summary>
    private async Task LoadIdentitySaltAsync(CancellationToken cancellationToken)
    {
        try
        {
            var stored = await _context.State.GetAsync(_stateScope, IdentitySaltKey, cancellationToken);
            byte[] salt;
            if (stored is not null && Convert.TryFromBase64String(stored, new byte[64], out var length) && length >= 16)
            {
                salt = Convert.FromBase64String(stored);
            }
            else
            {
                salt = RandomNumberGenerator.GetBytes(32);
                await _context.State.SetAsync(_stateScope, IdentitySaltKey, Convert.ToBase64String(salt), cancellationToken);
            }

            _identity = new OccupantIdentity(salt);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(XmppLog.StateFailed, ex, "Could not read or keep the identity salt; hidden occupant ids hold for this run only");
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_lifetime is null || _crashed)
        {
            return;
        }

        _ready = false;
        var stream = _stream;
        if (stream is not null)
        {
            await LeaveAllRoomsAsync(stream, cancellationToken);
            await stream.CloseAsync();
        }

        await _lifetime.CancelAsync();
        foreach (var task in new[] { _connectionLoop, _persistLoop })
        {
            if (task is not null)
            {
                await task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        _inbound.Writer.TryComplete();
        if (_ingestWorker is not null)
        {
            await _ingestWorker.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        // Bounded: a store that no longer answers must not hold the stop for ever. Whatever is not written is read
        // again from the archive at the next start (deduplicated); the saved positions never pass unsaved pairs.
        using var finalSave = new CancellationTokenSource(FinalSaveWait);
        try
        {
            await PersistPositionsAsync(final: true, finalSave.Token);
        }
        catch (OperationCanceledException) when (finalSave.IsCancellationRequested)
        {
            _logger.LogWarning(XmppLog.StateFailed, "The final save did not finish within {Wait}; the catch-up positions are left where they were", FinalSaveWait);
        }
    }

    /// <summary>Tests only: dies like a killed process (no unavailable presence, no final save, socket just closed).</summary>
    internal async Task SimulateCrashAsync()
    {
        _ready = false;
        if (_lifetime is not null)
        {
            await _lifetime.CancelAsync();
        }

        if (_stream is { } stream)
        {
            await stream.DisposeAsync();
        }

        _inbound.Writer.TryComplete();
        foreach (var task in new[] { _connectionLoop, _persistLoop, _ingestWorker })
        {
            if (task is not null)
            {
                await task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        _crashed = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_lifetime is not null && !_lifetime.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None);
        }

        _lifetime?.Dispose();
        _lifetime = null;
        _mediaHttp.Dispose();
    }

    private bool TryResolveRoom(string channelId, out Jid jid)
    {
        var text = channelId.Contains('@', StringComparison.Ordinal) || _options.MucService is null ? channelId : $"{channelId}@{_options.MucService}";
        if (Jid.TryParse(text, out var parsed) && parsed.Value.Local is not null && parsed.Value.IsBare)
        {
            jid = parsed.Value;
            return true;
        }

        jid = default;
        return false;
    }

    private static string LastIdKey(RoomState room) => "last-stanza-id:" + room.Key;

    private static string LastStampKey(RoomState room) => "last-stamp:" + room.Key;

    // ---------------------------------------------------------------- connection loop

    private async Task ConnectionLoopAsync(CancellationToken stop)
    {
        var delay = _options.ReconnectInitialDelay;
        var failuresInARow = 0;
        while (!stop.IsCancellationRequested)
        {
            ComponentStream? stream = null;
            using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop);
            try
            {
                // Prosody lets a new component connection replace the old one: a process that has lost (or cannot
                // confirm) the leader lease must not take the component back from the active one.
                while (_context.Services?.GetService(typeof(Bridge.Core.Storage.LeaderFence)) is Bridge.Core.Storage.LeaderFence { MayAct: false })
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), _context.Time, stop);
                }

                stream = await ComponentStream.ConnectAsync(_options.Host, _options.Port, _options.ComponentDomain, _options.Secret,
                    _options.MaxStanzaBytes, _options.ConnectTimeout, stop);
                var generation = Interlocked.Increment(ref _connectionGeneration);
                _history.Connected();
                _logger.LogInformation(XmppLog.Connected, "Component {Domain} connected to {Host}:{Port} (stream {StreamId}, connection #{Generation})",
                    _options.ComponentDomain, _options.Host, _options.Port, stream.StreamId, generation);
                delay = _options.ReconnectInitialDelay;
                failuresInARow = 0;
                _stream = stream;

                // Reads cannot be cancelled: closing the socket is what ends a read when we stop or give up on a connection.
                var current = stream;
                await using var closeOnCancel = connection.Token.Register(() => _ = current.DisposeAsync().AsTask());
                var setup = Task.Run(() => SetupAfterConnectAsync(stream, generation, connection.Token), CancellationToken.None);
                var keepAlive = Task.Run(() => KeepAliveLoopAsync(stream, connection.Token), CancellationToken.None);
                await ReadLoopAsync(stream, connection.Token);
                if (stream.ClosedLocally || stop.IsCancellationRequested)
                {
                    _logger.LogDebug(XmppLog.Disconnected, "Component stream to {Host}:{Port} closed (we are stopping)", _options.Host, _options.Port);
                }
                else
                {
                    // A server that stops or restarts closes the stream (Prosody just closes the socket): routine, not a fault.
                    _logger.LogInformation(XmppLog.ServerClosed, "XMPP server closed the stream{How}; reconnecting to {Host}:{Port}",
                        stream.EndedWithoutClose ? " (connection ended without </stream:stream>)" : "", _options.Host, _options.Port);
                    _history.Failed("the XMPP server closed the stream");
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is XmppStreamClosedException or XmppStreamViolationException or IOException or ObjectDisposedException
                && (stop.IsCancellationRequested || stream?.ClosedLocally == true))
            {
                // Our own stop closed the stream under the reader: whatever the reader saw then is not the server's fault.
                _logger.LogDebug(XmppLog.Disconnected, "Component stream to {Host}:{Port} ended while stopping: {Reason}", _options.Host, _options.Port, ex.Message);
            }
            catch (XmppStreamClosedException ex) when (ex.Condition is "system-shutdown" or "reset")
            {
                _logger.LogInformation(XmppLog.ServerClosed, "XMPP server closed the stream ({Condition}: it is shutting down or restarting); reconnecting to {Host}:{Port}",
                    ex.Condition, _options.Host, _options.Port);
                _history.Failed($"the XMPP server closed the stream ({ex.Condition})");
            }
            catch (XmppHandshakeException ex)
            {
                _history.Failed($"component handshake refused: {ex.Message}");
                _logger.LogError(XmppLog.HandshakeRefused, "Component handshake with {Host}:{Port} refused: {Reason}", _options.Host, _options.Port, ex.Message);
            }
            catch (XmppStreamViolationException ex)
            {
                _history.Failed($"rejected input from the server ({ex.Condition}): {ex.Message}");
                _logger.LogError(XmppLog.RejectedInput, "Rejected input from {Host}:{Port} ({Condition}): {Reason}; closing the stream and reconnecting",
                    _options.Host, _options.Port, ex.Condition, ex.Message);
                if (stream is not null)
                {
                    await stream.SendStreamErrorAndCloseAsync(ex.Condition, ex.Message);
                }
            }
            catch (XmppStreamClosedException ex)
            {
                _logger.LogWarning(XmppLog.Disconnected, "Component stream to {Host}:{Port} lost: {Reason}", _options.Host, _options.Port, ex.Message);
                _history.Failed($"component stream lost: {ex.Message}");
            }
            catch (Exception ex)
            {
                // A server that is down (or restarting) refuses every retry: one warning per outage, the retries at Debug.
                failuresInARow++;
                _history.Failed($"cannot connect to {_options.Host}:{_options.Port}: {ex.Message}");
                _logger.Log(failuresInARow == 1 ? LogLevel.Warning : LogLevel.Debug, XmppLog.ConnectFailed,
                    "Component connection to {Host}:{Port} failed: {Error} (attempt {Attempt}; retrying with backoff)", _options.Host, _options.Port, ex.Message, failuresInARow);
            }
            finally
            {
                await connection.CancelAsync();
                OnDisconnected();
                if (stream is not null)
                {
                    await stream.DisposeAsync();
                }
            }

            if (stop.IsCancellationRequested)
            {
                break;
            }

            // Exponential backoff with jitter so a restarting server is not hammered by every bridge at once.
            var wait = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.5 + (Random.Shared.NextDouble() * 0.5)));
            try
            {
                await Task.Delay(wait, _context.Time, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, _options.ReconnectMaxDelay.TotalMilliseconds));
        }
    }

    private void OnDisconnected()
    {
        _ready = false;
        lock (_gate)
        {
            // Under the lock: a join answered on the old stream must not be recorded as joined after this point.
            _stream = null;
        }

        var closed = new XmppStreamClosedException("component stream closed");
        foreach (var pending in _pendingIq.Values)
        {
            pending.TrySetException(closed);
        }

        foreach (var pending in _pendingSends.Values)
        {
            pending.TrySetException(closed);
        }

        lock (_gate)
        {
            foreach (var occupancy in _occupancies.Values)
            {
                occupancy.Pending?.TrySetException(closed);
                occupancy.Pending = null;
                if (occupancy.State == OccupancyState.Joined)
                {
                    occupancy.State = OccupancyState.Absent;
                }
            }
        }
    }

    private async Task ReadLoopAsync(ComponentStream stream, CancellationToken cancellationToken)
    {
        while (true)
        {
            var stanza = await stream.ReadStanzaAsync(cancellationToken);
            if (stanza is null)
            {
                return;
            }

            if (stanza.Name == Ns.Streams + "error")
            {
                throw new XmppStreamClosedException(
                    $"the server sent a stream error: {ComponentStream.StreamErrorCondition(stanza)} {ComponentStream.StreamErrorText(stanza)}".TrimEnd(),
                    ComponentStream.StreamErrorCondition(stanza));
            }

            try
            {
                switch (stanza.Name.LocalName)
                {
                    case "iq":
                        await HandleIqAsync(stream, stanza, cancellationToken);
                        break;
                    case "presence":
                        HandlePresence(stanza);
                        break;
                    case "message":
                        await HandleMessageAsync(stanza, cancellationToken);
                        break;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (XmppStreamClosedException)
            {
                throw;
            }
            catch (Exception ex)
            {
                // One stanza we cannot make sense of must not take the connection (or the daemon) down.
                _logger.LogWarning(XmppLog.RejectedInput, ex, "Ignored a {Kind} stanza from {From} that could not be handled", stanza.Name.LocalName, (string?)stanza.Attribute("from"));
            }
        }
    }

    /// <summary>Sends on the current stream. Throws <see cref="XmppStreamClosedException"/> when there is none.</summary>
    internal async Task SendAsync(XElement stanza, CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new XmppStreamClosedException("not connected");
        await stream.SendAsync(stanza, cancellationToken);
    }

    private string NextId(string prefix) => $"{prefix}-{Interlocked.Increment(ref _iqCounter)}-{Guid.NewGuid():N}";

    /// <summary>Sends an IQ and waits for its result; throws <see cref="XmppIqErrorException"/> on an error reply.</summary>
    private async Task<XElement> SendIqAsync(ComponentStream stream, XElement iq, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var id = (string?)iq.Attribute("id") ?? NextId("iq");
        iq.SetAttributeValue("id", id);
        var tcs = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingIq[id] = tcs;
        try
        {
            await stream.SendAsync(iq, cancellationToken);
            var reply = await tcs.Task.WaitAsync(timeout, cancellationToken);
            if ((string?)reply.Attribute("type") == "error")
            {
                throw new XmppIqErrorException(StanzaErrorCondition(reply));
            }

            return reply;
        }
        finally
        {
            _pendingIq.TryRemove(id, out _);
        }
    }

    private async Task HandleIqAsync(ComponentStream stream, XElement iq, CancellationToken cancellationToken)
    {
        var type = (string?)iq.Attribute("type");
        var id = (string?)iq.Attribute("id") ?? "";
        if (type is "result" or "error")
        {
            if (_pendingIq.TryRemove(id, out var pending))
            {
                pending.TrySetResult(iq);
            }

            return;
        }

        if (type is not ("get" or "set") || !Jid.TryParse((string?)iq.Attribute("to"), out var to) || !Jid.TryParse((string?)iq.Attribute("from"), out var from))
        {
            return;
        }

        var payload = iq.Elements().FirstOrDefault();
        XElement reply;
        if (type == "get" && payload?.Name == Ns.DiscoInfo + "query" && payload.Attribute("node") is null)
        {
            var isComponent = to.Value.Local is null;
            reply = Iq("result", to.Value, from.Value, id,
                new XElement(Ns.DiscoInfo + "query",
                    isComponent
                        ? new XElement(Ns.DiscoInfo + "identity", new XAttribute("category", "gateway"), new XAttribute("type", "xmpp"), new XAttribute("name", "Bridge"))
                        : new XElement(Ns.DiscoInfo + "identity", new XAttribute("category", "client"), new XAttribute("type", "bot"), new XAttribute("name", JidEscaping.Unescape(to.Value.Local!))),
                    new XElement(Ns.DiscoInfo + "feature", new XAttribute("var", Ns.DiscoInfo.NamespaceName)),
                    new XElement(Ns.DiscoInfo + "feature", new XAttribute("var", Ns.Ping.NamespaceName)),
                    new XElement(Ns.DiscoInfo + "feature", new XAttribute("var", Ns.Muc.NamespaceName))));
        }
        else if (type == "get" && payload?.Name == Ns.DiscoItems + "query")
        {
            reply = Iq("result", to.Value, from.Value, id, new XElement(Ns.DiscoItems + "query"));
        }
        else if (type == "get" && payload?.Name == Ns.VcardTemp + "vCard" && to.Value.Local is not null)
        {
            reply = Iq("result", to.Value, from.Value, id, await PuppetVcardAsync(to.Value, cancellationToken));
        }
        else if (type == "get" && payload?.Name == Ns.Ping + "ping")
        {
            reply = Iq("result", to.Value, from.Value, id);
        }
        else
        {
            reply = Iq("error", to.Value, from.Value, id,
                new XElement(Ns.Component + "error", new XAttribute("type", "cancel"), new XElement(Ns.Stanzas + "service-unavailable")));
        }

        if (!string.Equals(to.Value.Domain, _options.ComponentDomain, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        await stream.SendAsync(reply, cancellationToken);
    }

    private static XElement Iq(string type, Jid from, Jid to, string id, params object[] content) =>
        new(Ns.Component + "iq", new XAttribute("type", type), new XAttribute("from", from.ToString()), new XAttribute("to", to.ToString()), new XAttribute("id", id), content);

    internal static string StanzaErrorCondition(XElement stanza)
    {
        var error = stanza.Elements().FirstOrDefault(e => e.Name.LocalName == "error" && Ns.IsStanzaNamespace(e.Name.Namespace));
        return error?.Elements().FirstOrDefault(e => e.Name.Namespace == Ns.Stanzas && e.Name.LocalName != "text")?.Name.LocalName ?? "undefined-condition";
    }
}

/// <summary>The other side answered an IQ with an error.</summary>
internal sealed class XmppIqErrorException(string condition) : Exception($"IQ error: {condition}")
{
    public string Condition { get; } = condition;
}
