using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Threading.Channels;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Events;
using Bridge.Mattermost.Inbound;
using Bridge.Mattermost.Puppets;
using Bridge.Mattermost.Startup;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

/// <summary>
/// The Mattermost edge: start-up checks, one WebSocket (as the bridge account) with resume and REST catch-up for
/// receiving, and puppets (a real user with its own token per remote person, or a relay bot) for delivering.
/// </summary>
public sealed partial class MattermostConnector : INetworkConnector, IConnectorVitalsSource
{
    private readonly NetworkDefinition _network;
    private readonly MattermostOptions _options;
    private readonly Bridge.Core.Text.Formatting.MessageFormatter _formatter = new();
    private readonly ConnectorContext _context;
    private readonly ILogger _logger;
    private readonly MattermostApiClient _api;
    private readonly PuppetManager _puppets;
    private readonly Channel<StreamItem> _items = Channel.CreateUnbounded<StreamItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, MmUser> _users = new(StringComparer.Ordinal);
    private readonly ChannelCursors _cursors;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    // Replaced whole (never changed in place) when channels are linked or unlinked at run time.
    private volatile Dictionary<string, ResolvedChannel> _byConfigured = new(StringComparer.Ordinal);
    private volatile Dictionary<string, ResolvedChannel> _byNative = new(StringComparer.Ordinal);
    private volatile ServerFacts? _facts;
    private volatile bool _relayMode;
    private volatile string? _lastError;
    private readonly ConnectionHistory _history;
    private readonly ChannelLanes<StreamItem> _lanes;
    private readonly Inbound.CatchUpSlots _catchUpSlots = new(CatchUpsAtOnce);
    private int _disposed;
    private RelayIdentity? _relay;
    private MattermostEventStream? _stream;
    private Task? _runTask;
    private Task? _cursorSaver;

    /// <summary>When this run started: rows queued before it may have been posted by a run killed before recording it.</summary>
    private DateTimeOffset _startedAt;

    private readonly EarlierRunPosts _earlierRunPosts;

    internal MattermostConnector(NetworkDefinition network, MattermostOptions options, ConnectorContext context, HttpMessageHandler? handler = null)
    {
        _network = network;
        _options = options;
        _context = context;
        _logger = context.LoggerFactory.CreateLogger("Bridge.Mattermost." + network.Id);
        _api = new MattermostApiClient(options, _logger, handler, context.Time);
        _history = new ConnectionHistory(context.Time);
        _puppets = new PuppetManager(_api, context.State, network.Id, options, _logger, context.Secrets) { Avatars = context.Avatars };
        _earlierRunPosts = new EarlierRunPosts(ChangedSinceAsync, Tag("key"));
        _cursors = new ChannelCursors(context.State, CursorScope, channel => OwnChannel(channel) is not null);
        _lanes = new ChannelLanes<StreamItem>(HandleLaneItemsAsync, IsBatchablePost, MaxIngestBatch,
            (lane, e) => _logger.LogError(MattermostLog.InboundFailed, e, "Mattermost channel lane {Lane} failed on an item", lane), _stopping.Token);
    }

    public string NetworkId => _network.Id;

    public NetworkKind Kind => NetworkKind.Mattermost;

    /// <summary>Start-up checks passed and the WebSocket is authenticated.</summary>
    public bool IsReady => _facts is not null && _stream?.IsConnected == true;

    public string? DegradedReason => _options.GuestPuppets && !_relayMode ? _puppets.GuestProblem : null;

    /// <summary>The last start-up problem (bad URL, token, rights, team or channel), or null once started.</summary>
    public string? LastError => _lastError;

    /// <summary>True when remote people are shown through one relay account (tokens forbidden or configured).</summary>
    public bool RelayMode => _relayMode;

    /// <summary>The user id of the bridge account (the configured token's user).</summary>
    public string? BridgeUserId => _facts?.Me.Id;

    /// <summary>The current WebSocket connection id (changes when the server could not resume).</summary>
    public string? WebSocketConnectionId => _stream?.ConnectionId;

    /// <summary>Completes when start-up checks have passed and listening has started.</summary>
    public Task Started => _ready.Task;

    /// <summary>Is this Mattermost user one of the bridge's puppets (or its relay account)?</summary>
    public bool IsBridgeUser(string userId) => _puppets.IsPuppet(userId) || userId == _relay?.UserId;

    private string AdminToken => _options.Token;

    private string Tag(string name) => $"{_options.BridgeTag}_{name}";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _startedAt = _context.Time.GetUtcNow();
        _runTask = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        _cursorSaver = Task.Run(() => SaveCursorsLoopAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await _puppets.LoadAsync(ct);
            var facts = await PreflightUntilPassedAsync(ct);
            await SetUpAsync(facts, ct);
            await CheckGuestAccountsAsync(ct);
            _facts = facts;
            await StartDirectAsync(ct);
            var processor = Task.Run(() => ProcessItemsAsync(ct), CancellationToken.None);
            _stream = new MattermostEventStream(_options.BaseUri, AdminToken, _options, _logger, _items.Writer, _history);
            await _stream.StartAsync();
            _lastError = null;
            _ready.TrySetResult();
            _logger.LogInformation(MattermostLog.Started, "Mattermost network {Network} started as @{User} on {Url}: {Count} channel(s), {Mode}",
                _network.Id, facts.Me.Username, _options.Url, facts.Channels.Count, _relayMode ? "relay mode" : "puppet users");
            await processor;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>With guestPuppets, tells the operator at once (log, <c>/healthz</c>) when the server cannot make guests.</summary>
    private async Task CheckGuestAccountsAsync(CancellationToken ct)
    {
        if (!_options.GuestPuppets || _relayMode)
        {
            return;
        }

        try
        {
            await _puppets.RequireGuestAccountsAsync(AdminToken, ct);
        }
        catch (GuestsUnavailableException)
        {
            // Recorded by the puppet manager; deliveries wait until guests are available.
        }
    }

    private async Task<ServerFacts> PreflightUntilPassedAsync(CancellationToken ct)
    {
        var delay = _options.ReconnectMinDelay;
        while (true)
        {
            try
            {
                return await Preflight.RunAsync(_api, _options, _context.Topology.ChannelsOf(_network.Id), ct);
            }
            catch (MattermostStartupException e)
            {
                _lastError = e.Message;
                _history.Failed(e.Message);
                if (e.Fatal)
                {
                    _logger.LogCritical(MattermostLog.StartupFailed, "Mattermost network {Network} cannot start: {Error}", _network.Id, e.Message);
                    delay = TimeSpan.FromSeconds(30);
                }
                else
                {
                    _logger.LogWarning(MattermostLog.StartupFailed, "Mattermost network {Network} not reachable yet: {Error}", _network.Id, e.Message);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                }
            }
            catch (Exception e) when (e is MattermostApiException or HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                _lastError = $"Mattermost start-up check failed: {e.Message}";
                _history.Failed(_lastError);
                _logger.LogWarning(MattermostLog.StartupFailed, e, "Mattermost network {Network}: start-up check failed; retrying", _network.Id);
            }
            await Task.Delay(delay, _context.Time, ct);
        }
    }

    private async Task SetUpAsync(ServerFacts facts, CancellationToken ct)
    {
        _byConfigured = facts.Channels.ToDictionary(c => c.ConfiguredId, StringComparer.Ordinal);
        _byNative = facts.Channels.GroupBy(c => c.NativeId).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var twice in facts.Channels.GroupBy(c => c.NativeId).Where(g => g.Count() > 1))
        {
            // The configuration names one channel twice (team/name and its id, say): it is heard under the first name only.
            _logger.LogError(MattermostLog.ChannelsChanged, "Mattermost channel {Channel} is linked under {Count} names ({Names}): its posts cross under {First} only; link it under one name",
                twice.Key, twice.Count(), string.Join(", ", twice.Select(c => c.ConfiguredId)), twice.First().ConfiguredId);
        }

        // The bridge account listens on the WebSocket, and the server only sends channel events to members.
        foreach (var channel in facts.Channels)
        {
            if (!await _api.IsChannelMemberAsync(channel.NativeId, facts.Me.Id, AdminToken, ct))
            {
                if (!facts.Me.IsSystemAdmin)
                {
                    throw new MattermostStartupException($"the bridge account @{facts.Me.Username} is not a member of '{channel.ConfiguredId}'", fatal: true);
                }
                await _api.AddTeamMemberAsync(channel.TeamId, facts.Me.Id, AdminToken, ct);
                await _api.AddChannelMemberAsync(channel.NativeId, facts.Me.Id, AdminToken, ct);
            }
        }

        _relayMode = _options.PuppetMode == PuppetMode.Relay || (_options.PuppetMode == PuppetMode.Auto && !facts.TokensEnabled);
        if (_options.PuppetMode == PuppetMode.Users && !facts.TokensEnabled)
        {
            _logger.LogError(MattermostLog.RelayMode, "puppetMode is 'users' but the server has EnableUserAccessTokens=false: deliveries to {Network} will fail until it is enabled", _network.Id);
        }
        if (_relayMode)
        {
            await EnterRelayModeAsync(facts, _options.PuppetMode == PuppetMode.Relay ? "configured (puppetMode: relay)" : "the server forbids personal access tokens (EnableUserAccessTokens=false)", ct);
        }

        var cursorScope = CursorScope;
        // A channel no longer linked (taken out of the configuration file) forgets its position: linked again later,
        // it starts from then, and what was written while it was not bridged never crosses. Likewise a DM whose portal
        // is out of force (direct messages off on either side, a link on one of its channels) forgets its position.
        var heard = facts.Channels.Select(c => c.NativeId)
            .Concat(Direct is { } dms && dms.IsEnabled(_network.Id) ? dms.PortalsOn(_network.Id).Select(p => p.On(_network.Id)!.ChannelId) : [])
            .ToHashSet(StringComparer.Ordinal);
        foreach (var (key, value) in await _context.State.ListAsync(cursorScope, ct))
        {
            if (!heard.Contains(key))
            {
                await _context.State.DeleteAsync(cursorScope, key, ct);
            }
            else if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
            {
                _cursors.Load(key, ms);
            }
        }
        // A channel never seen before starts now: the bridge does not replay a channel's whole history.
        var now = _context.Time.GetUtcNow().ToUnixTimeMilliseconds();
        await _cursors.StartAtAsync([.. facts.Channels.Select(c => c.NativeId).Distinct(StringComparer.Ordinal).Where(c => !_cursors.Has(c))], now, ct);
    }

    private string CursorScope => $"mattermost:{_network.Id}:cursor";

    /// <summary>How long a stop waits for the last save of the cursors.</summary>
    private static readonly TimeSpan FinalSaveWait = TimeSpan.FromSeconds(10);

    /// <summary>Posts of the channel queued in its lane and not yet handled (tests wait for a run to form).</summary>
    internal int QueuedInLane(string nativeChannelId) => _lanes.Queued(LaneOf(nativeChannelId));

    private async Task EnterRelayModeAsync(ServerFacts facts, string why, CancellationToken ct)
    {
        _relayMode = true;
        _relay ??= await CreateRelayIdentityAsync(facts, ct);
        _logger.LogWarning(MattermostLog.RelayMode,
            "Mattermost network {Network} runs in RELAY MODE because {Why}: remote people appear as @{Relay} with their name in override_username{Override}; " +
            "per-person reactions are not bridged. Enable ServiceSettings.EnableUserAccessTokens for real puppets.",
            _network.Id, why, _relay.Username, facts.UsernameOverride ? "" : " (EnablePostUsernameOverride is off: names are written into the text instead)");
    }

    private async Task<RelayIdentity> CreateRelayIdentityAsync(ServerFacts facts, CancellationToken ct)
    {
        if (facts.Me.IsBot || !facts.Me.IsSystemAdmin)
        {
            return new RelayIdentity(facts.Me.Id, facts.Me.Username, AdminToken);
        }
        try
        {
            var existing = await _api.FindUserByUsernameAsync(_options.RelayBotUsername, AdminToken, ct);
            string botId;
            if (existing is { IsBot: true })
            {
                botId = existing.Id;
            }
            else if (existing is null && facts.BotsEnabled)
            {
                botId = (await _api.CreateBotAsync(_options.RelayBotUsername, "Bridge", AdminToken, ct)).UserId;
            }
            else
            {
                return new RelayIdentity(facts.Me.Id, facts.Me.Username, AdminToken);
            }
            // Bot tokens are allowed even when EnableUserAccessTokens is off.
            var token = await _api.CreateAccessTokenAsync(botId, "bridge relay", AdminToken, ct);
            foreach (var channel in facts.Channels)
            {
                await _api.AddTeamMemberAsync(channel.TeamId, botId, AdminToken, ct);
                await _api.AddChannelMemberAsync(channel.NativeId, botId, AdminToken, ct);
            }
            return new RelayIdentity(botId, _options.RelayBotUsername, token.Token);
        }
        catch (MattermostApiException e)
        {
            _logger.LogWarning(MattermostLog.RelayMode, "Could not set up the relay bot @{Bot} ({Error}); relaying as @{User}", _options.RelayBotUsername, e.Message, facts.Me.Username);
            return new RelayIdentity(facts.Me.Id, facts.Me.Username, AdminToken);
        }
    }

    /// <summary>
    /// Moves the channel's cursor behind an event the core has taken (never back). It is written by the next
    /// <see cref="SaveCursorsLoopAsync"/> pass, with every other channel's, not in a commit of its own.
    /// </summary>
    private async Task SaveCursorAsync(string nativeChannelId, long updateAt, CancellationToken ct, bool fromCatchUp = false)
    {
        // After a failed ingest the cursor stays put until a catch-up has gone over the gap again.
        if (OwnChannel(nativeChannelId) is null)
        {
            return; // unlinked meanwhile: its position is forgotten, and must not come back
        }
        if (!fromCatchUp && IsFrozen(nativeChannelId))
        {
            return;
        }
        if (_cursors.Advance(nativeChannelId, updateAt) && _options.CursorSaveDelay <= TimeSpan.Zero)
        {
            await _cursors.SaveAsync(ct);
        }
    }

    /// <summary>
    /// Writes the cursors that moved, every <see cref="MattermostOptions.CursorSaveDelay"/>, all in one store call; the
    /// last save is made on stop, after the lanes have finished. A failed write is retried at the next pass and said
    /// once per streak (a full disk fails every pass); the cursors stay behind meanwhile, which only means reading more.
    /// </summary>
    private async Task SaveCursorsLoopAsync(CancellationToken ct)
    {
        if (_options.CursorSaveDelay <= TimeSpan.Zero)
        {
            return;
        }

        var failing = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.CursorSaveDelay, _context.Time, ct);
                await _cursors.SaveAsync(ct);
                failing = false;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (!failing)
                {
                    _logger.LogWarning(MattermostLog.CursorSaveFailed, "Saving the Mattermost catch-up cursors failed ({Error}); they stay where they were saved and are tried again", e.Message);
                }
                failing = true;
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync();
        await StopDirectListenersAsync();
        _items.Writer.TryComplete();
        if (_stream is not null)
        {
            await _stream.DisposeAsync();
            _stream = null;
        }
        if (_runTask is not null)
        {
            await _runTask.WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        try
        {
            await _lanes.DisposeAsync().AsTask().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.LogDebug(MattermostLog.InboundFailed, "A Mattermost channel lane ended with an error while stopping: {Error}", e.Message);
        }

        if (_cursorSaver is not null)
        {
            await _cursorSaver.WaitAsync(FinalSaveWait, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        try
        {
            // What the lanes took in is committed: its cursors go with it, so the next start reads nothing again. A store
            // that hangs does not hold the stop: the saved cursors stay behind, which only means reading more.
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(FinalSaveWait);
            await _cursors.SaveAsync(bounded.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning(MattermostLog.CursorSaveFailed, "Saving the Mattermost catch-up cursors on stop failed ({Error}); the next start reads a little more", e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await StopAsync(CancellationToken.None);
        _api.Dispose();
        _stopping.Dispose();
    }

    private sealed record RelayIdentity(string UserId, string Username, string Token);

    internal static bool IsUnreachable(Exception e) =>
        e is HttpRequestException or TaskCanceledException or TimeoutException
        || e is MattermostApiException { IsTransient: true }
        || e is MattermostApiException { Status: HttpStatusCode.ServiceUnavailable };
}
