using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Appservice;
using Bridge.Matrix.Client;
using Bridge.Matrix.Configuration;
using Bridge.Matrix.Formatting;
using Bridge.Matrix.Registration;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>
/// The Matrix edge, as an application service: receives pushed transactions, reports them to the core once durable,
/// and delivers as per-person puppets with identity assertion. Never waits for the homeserver to start.
/// </summary>
public sealed partial class MatrixConnector : INetworkConnector, IConnectorVitalsSource
{
    private readonly MatrixOptions _options;
    private readonly Bridge.Core.Text.Formatting.MessageFormatter _formatter = new();
    private readonly ConnectorContext _context;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly RoomMap _rooms;
    private readonly MatrixHtml _html = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _connectGate = new();
    private readonly ConcurrentDictionary<(string RoomId, string UserId), byte> _joined = new();
    private readonly ConcurrentDictionary<string, string> _puppetNames = new(StringComparer.Ordinal);

    /// <summary>Person key → puppet localpart, as stored under <see cref="PersonKeyPrefix"/> in the puppet scope.</summary>
    private readonly ConcurrentDictionary<string, string> _puppetIds = new(StringComparer.Ordinal);

    /// <summary>Puppet-scope keys of the person → localpart map; a localpart never holds ':', so they never clash.</summary>
    private const string PersonKeyPrefix = "person:";
    private readonly ConcurrentDictionary<string, string> _displayNames = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _transactionGate = new(1, 1);
    private readonly Threads.ThreadTails _threadTails = new();
    private readonly ConcurrentDictionary<string, PersonRef> _puppetPersons = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _personPuppets = new(StringComparer.Ordinal);
    private AppserviceListener? _listener;
    private MatrixClient? _client;
    private InboundMapper? _inbound;
    private Regex[] _ownUserPatterns = [];
    private Task? _connectTask;
    private volatile bool _ready;
    private readonly ConnectionHistory _history;

    public MatrixConnector(NetworkDefinition network, MatrixOptions options, ConnectorContext context)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        NetworkId = network.Id;
        _options = options;
        _context = context;
        _logger = context.LoggerFactory.CreateLogger("Bridge.Matrix." + network.Id);
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = options.RequestTimeout };
        _rooms = new RoomMap(context.Topology.ChannelsOf(network.Id));
        _history = new ConnectionHistory(context.Time);
        BotUserId = "@" + options.BotLocalpart + ":" + options.ServerName;
    }

    public string NetworkId { get; }

    public NetworkKind Kind => NetworkKind.Matrix;

    public bool IsReady => _ready;

    /// <summary>The bridge bot (registration <c>sender_localpart</c>).</summary>
    public string BotUserId { get; private set; }

    /// <summary>Where the appservice listener is bound (after start); register this URL with the homeserver.</summary>
    public Uri? ListenUrl => _listener?.BoundUrl;

    private string PuppetScope => "matrix:" + NetworkId + ":puppets";

    private MatrixClient Client => _client ?? throw new InvalidOperationException("connector not started");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var (asToken, hsToken) = LoadRegistration();
        _client = new MatrixClient(_http, new Uri(_options.HomeserverUrl.TrimEnd('/') + "/"), asToken);
        _inbound = new InboundMapper(NetworkId, _options.LabelField, _html);
        _listener = new AppserviceListener(new Uri(_options.Listen), hsToken, new Handler(this), _context.LoggerFactory);
        await _listener.StartAsync(cancellationToken);
        _logger.LogInformation(MatrixLog.Listening, "Matrix appservice for {Network} listening on {Url}", NetworkId, _listener.BoundUrl);
        EnsureConnecting();
        _ = RepeatTypingLoopAsync(_stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _ready = false;
        await _stopping.CancelAsync();
        if (_connectTask is { } connecting)
        {
            try
            {
                await connecting.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }

        if (_options.LeavePuppetsOnStop && _client is { } client)
        {
            foreach (var (roomId, userId) in _joined.Keys.Where(k => k.UserId != BotUserId && !IsDirectRoom(k.RoomId)).ToList())
            {
                try
                {
                    await client.LeaveAsync(roomId, userId, cancellationToken);
                }
                catch (Exception ex) when (ex is MatrixApiException or HttpRequestException)
                {
                    // Best effort on the way out.
                }
            }

            _joined.Clear();
        }

        if (_listener is { } listener)
        {
            await listener.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None);
        }

        if (_listener is { } listener)
        {
            await listener.DisposeAsync();
        }

        _http.Dispose();
        _stopping.Dispose();
        _transactionGate.Dispose();
        _noticeRoomGate.Dispose();
    }

    private (string AsToken, string HsToken) LoadRegistration()
    {
        AppserviceRegistrationFile? file = null;
        if (_options.RegistrationFile is { } path && File.Exists(path))
        {
            file = AppserviceRegistrationFile.Load(path);
        }

        var asToken = _options.AsToken ?? file?.AsToken ?? throw new InvalidOperationException("no as_token: set registrationFile or asToken");
        var hsToken = _options.HsToken ?? file?.HsToken ?? throw new InvalidOperationException("no hs_token: set registrationFile or hsToken");
        if (file is not null)
        {
            _options.AppserviceId = file.Id;
            BotUserId = "@" + file.SenderLocalpart + ":" + _options.ServerName;
            _ownUserPatterns = [.. file.UserRegexes.Select(r => new Regex("^(?:" + r + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))];
            if (!file.ReceivesEphemeral)
            {
                _logger.LogInformation(MatrixLog.TypingDropped,
                    "The registration {Path} does not ask for ephemeral events (receive_ephemeral): Matrix typing will not reach the other networks", _options.RegistrationFile);
            }
        }

        return (asToken, hsToken);
    }

    /// <summary>The bridge's own users (bot and puppets) are never bridged back and never get puppets themselves.</summary>
    internal bool IsOwnUser(string userId)
    {
        if (userId == BotUserId)
        {
            return true;
        }

        var suffix = ":" + _options.ServerName;
        if (userId.StartsWith("@" + _options.PuppetPrefix, StringComparison.Ordinal) && userId.EndsWith(suffix, StringComparison.Ordinal))
        {
            return true;
        }

        foreach (var pattern in _ownUserPatterns)
        {
            if (pattern.IsMatch(userId))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Starts the (re)connect loop unless one is running: waits for the homeserver, checks the token, pings, joins linked rooms.</summary>
    private void EnsureConnecting()
    {
        lock (_connectGate)
        {
            if (_stopping.IsCancellationRequested || _connectTask is { IsCompleted: false })
            {
                return;
            }

            _ready = false;
            var token = _stopping.Token;
            _connectTask = Task.Run(() => ConnectLoopAsync(token), CancellationToken.None);
        }
    }

    private async Task ConnectLoopAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Client.WhoAmIAsync(null, ct);
                await PingAsync(ct);
                await JoinLinkedRoomsAsync(ct);
                _ready = true;
                _context.WakeDeliveries(NetworkId);
                _history.Connected();
                _logger.LogInformation(MatrixLog.Ready, "Matrix network {Network} ready as {Bot}", NetworkId, BotUserId);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or MatrixApiException or TaskCanceledException)
            {
                _logger.LogWarning(MatrixLog.HomeserverUnreachable, "Homeserver of {Network} not usable yet ({Error}); retrying in {Delay}",
                    NetworkId, ex.Message, delay);
                _history.Failed($"homeserver not usable: {ex.Message}");
            }

            try
            {
                await Task.Delay(delay, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
        }
    }

    private async Task PingAsync(CancellationToken ct)
    {
        if (!_options.UsePing)
        {
            return;
        }

        try
        {
            var rtt = await Client.PingAsync(_options.AppserviceId, "bridge-start-" + Guid.NewGuid().ToString("N"), ct);
            _logger.LogInformation(MatrixLog.Ready, "Homeserver reached the appservice listener (ping {Rtt} ms)", (long)rtt.TotalMilliseconds);
        }
        catch (MatrixApiException ex) when (ex.ErrCode == "M_UNRECOGNIZED" || ex.Status is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
        {
            // Older homeservers have no ping: fine, it is only a diagnostic.
        }
        catch (MatrixApiException ex)
        {
            _logger.LogWarning(MatrixLog.PingFailed, "The homeserver cannot reach the appservice listener ({Error}): check the registration url", ex.Message);
        }
    }

    private async Task JoinLinkedRoomsAsync(CancellationToken ct)
    {
        foreach (var channel in _rooms.Channels)
        {
            try
            {
                var roomId = await _rooms.ResolveAsync(channel, Client, ct);
                await Client.JoinAsync(roomId, null, ct);
                _joined[(roomId, BotUserId)] = 0;
            }
            catch (MatrixApiException ex) when (ex.Status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
            {
                _logger.LogWarning(MatrixLog.RoomUnavailable, "Bridge bot {Bot} cannot join {Channel} yet ({Error}); invite it to the room",
                    BotUserId, channel, ex.Message);
                _history.Failed($"the bridge bot cannot join {channel}: {ex.Message} (invite it to the room)");
            }
        }
    }
}
