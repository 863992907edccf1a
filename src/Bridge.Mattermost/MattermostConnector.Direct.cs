using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Bridge.Core.Direct;
using Bridge.Core.Model;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Events;
using Bridge.Mattermost.Startup;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

/// <summary>
/// Direct chats (<see cref="DirectMessages"/>). A DM channel belongs to its two members only: the bridge account can
/// neither join it nor hear it, so each puppet listens on a WebSocket of its own (its token) while
/// <c>directMessages</c> is on, and what it hears in a DM channel in force goes into the connector's one event queue, as
/// the bridge account's events do. A person's first post in a DM with a puppet asks the core to open a portal to the
/// person the puppet stands for; the other way, the puppet opens the DM (<c>POST /channels/direct</c> with its own
/// token). Deliveries into a DM post as the sender's puppet without joining (nobody can be added to a DM channel).
/// </summary>
public sealed partial class MattermostConnector : IDirectMessageConnector
{
    private static readonly EventId DirectEvent = new(5050, "MattermostDirect");

    /// <summary>How often the puppets without a listener are looked for (puppets are made as people speak).</summary>
    internal TimeSpan DirectListenerScan { get; set; } = TimeSpan.FromSeconds(2);

    private volatile Dictionary<string, ResolvedChannel> _directChannels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DirectListener> _directListeners = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _directListenerGate = new(1, 1);

    private sealed record DirectListener(MattermostEventStream Stream, ChannelReader<StreamItem> Items, string Token);

    /// <summary>Events a puppet's listener may have waiting; past it the stream drops and catches up over REST (never grows without bound).</summary>
    internal int DirectQueueCapacity { get; set; } = 1024;

    /// <summary>A puppet's listener (re)connected: its DM channels in force are caught up over REST with its token.</summary>
    private sealed record DirectCatchUp(string PuppetUserId, string Token, string Reason) : StreamItem;

    private DirectMessages? Direct => _context.Services?.GetService(typeof(DirectMessages)) as DirectMessages;

    private ResolvedChannel? DirectChannel(string channelId) => _directChannels.GetValueOrDefault(channelId);

    /// <summary>At start, once set up: the portals in force are routed and the puppets start listening.</summary>
    private async Task StartDirectAsync(CancellationToken ct)
    {
        if (Direct is not { } dms || !dms.IsEnabled(_network.Id))
        {
            return;
        }

        foreach (var portal in dms.PortalsOn(_network.Id))
        {
            await PutDirectInForceAsync(portal, ct);
        }

        _ = Task.Run(() => KeepDirectListenersAsync(ct), CancellationToken.None);
    }

    /// <summary>
    /// Routes the portal's DM channel. A DM keeps its position only while its portal is in force (the start forgets the
    /// others'), so one without a position starts from now: what was posted before the portal existed, or while it was
    /// out of force (direct messages off on either side, a link on one of its channels), never crosses.
    /// </summary>
    private async Task PutDirectInForceAsync(DirectPortal portal, CancellationToken ct)
    {
        if (portal.On(_network.Id) is not { } party)
        {
            return;
        }

        RegisterDirect(party.ChannelId);
        if (!_cursors.Has(party.ChannelId))
        {
            await _cursors.StartAtAsync([party.ChannelId], Math.Max(1, _context.Time.GetUtcNow().ToUnixTimeMilliseconds()), ct);
        }
    }

    public async Task<string> OpenDirectAsync(PersonRef local, PersonRef remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        if (_facts is not { } facts || _relayMode)
        {
            throw new InvalidOperationException(_relayMode ? "relay mode has no puppets to chat with" : "Mattermost not connected");
        }

        var puppet = await _puppets.EnsureUserAsync(remote, facts.TeamId, AdminToken, cancellationToken);
        var channel = await _api.CreateDirectChannelAsync(puppet.UserId, local.UserId, puppet.Token!, cancellationToken);
        RegisterDirect(channel.Id);
        await EnsureDirectListenerAsync(puppet.UserId, puppet.Token!);
        _logger.LogInformation(DirectEvent, "Puppet @{Puppet} opened the direct channel {Channel} with {Person}", puppet.Username, channel.Id, local.UserId);
        return channel.Id;
    }

    public Task DirectPortalInForceAsync(DirectPortal portal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(portal);
        return PutDirectInForceAsync(portal, cancellationToken);
    }

    private void RegisterDirect(string channelId)
    {
        if (!_directChannels.ContainsKey(channelId))
        {
            _directChannels = new Dictionary<string, ResolvedChannel>(_directChannels, StringComparer.Ordinal) { [channelId] = new ResolvedChannel(channelId, channelId, "", "") };
        }
    }

    /// <summary>A delivery into a DM channel posts as the sender's puppet, which is a member already (or the DM is refused by the server).</summary>
    private async Task<Poster?> DirectPosterAsync(PersonRef sender, ResolvedChannel channel, CancellationToken ct)
    {
        if (DirectChannel(channel.NativeId) is null || _relayMode || _facts is not { } facts)
        {
            return null;
        }

        var puppet = await _puppets.EnsureUserAsync(sender, facts.TeamId, AdminToken, ct);
        return new Poster(puppet.UserId, puppet.Token!, IsRelay: false);
    }

    private async Task KeepDirectListenersAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (_facts is { } facts && !_relayMode)
                {
                    foreach (var (person, record) in _puppets.AllPuppets)
                    {
                        if (!_directListeners.ContainsKey(record.UserId))
                        {
                            var token = record.Token ?? (await _puppets.EnsureUserAsync(person, facts.TeamId, AdminToken, ct)).Token!;
                            await EnsureDirectListenerAsync(record.UserId, token);
                        }
                    }
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                _logger.LogWarning(DirectEvent, "Puppet listeners for direct messages not all started ({Error}); trying again", e.Message);
            }

            try
            {
                await Task.Delay(DirectListenerScan, _context.Time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task EnsureDirectListenerAsync(string puppetUserId, string token)
    {
        await _directListenerGate.WaitAsync(_stopping.Token);
        try
        {
            if (_directListeners.ContainsKey(puppetUserId) || _stopping.IsCancellationRequested)
            {
                return;
            }

            var items = Channel.CreateBounded<StreamItem>(new BoundedChannelOptions(DirectQueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
            var stream = new MattermostEventStream(_options.BaseUri, token, _options, _logger, items.Writer);
            var listener = new DirectListener(stream, items.Reader, token);
            try
            {
                await stream.StartAsync();
            }
            catch
            {
                // Not registered: the scan tries this puppet again later.
                items.Writer.TryComplete();
                await stream.DisposeAsync();
                throw;
            }

            _directListeners[puppetUserId] = listener;
            _ = Task.Run(() => PumpDirectAsync(puppetUserId, token, listener, _stopping.Token), CancellationToken.None);
        }
        finally
        {
            _directListenerGate.Release();
        }
    }

    private async Task StopDirectListenersAsync()
    {
        foreach (var listener in _directListeners.Values)
        {
            await listener.Stream.DisposeAsync();
        }

        _directListeners.Clear();
    }

    /// <summary>What one puppet hears: events of DM channels in force go to the event queue; a person's post in a new DM with it may open one.</summary>
    private async Task PumpDirectAsync(string puppetUserId, string token, DirectListener listener, CancellationToken ct)
    {
        try
        {
            await foreach (var item in listener.Items.ReadAllAsync(ct))
            {
                // Whatever one event does (a malformed payload, a failed opening) fails that event only, logged.
                try
                {
                    if (item is StreamItem.Resync resync)
                    {
                        await _items.Writer.WriteAsync(new DirectCatchUp(puppetUserId, token, resync.Reason), ct);
                        continue;
                    }

                    if (item is not StreamItem.Event e || ChannelOf(e) is not { } channelId)
                    {
                        continue;
                    }

                    if (DirectChannel(channelId) is null && (e.Name != "posted" || !await OpenFromPostAsync(puppetUserId, e.Data, ct)))
                    {
                        continue;
                    }

                    await _items.Writer.WriteAsync(e, ct);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    _logger.LogWarning(DirectEvent, ex, "A direct-message event heard by puppet {Puppet} was not handled", puppetUserId);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
        catch (Exception ex)
        {
            _logger.LogWarning(DirectEvent, ex, "The direct-message listener of puppet {Puppet} stopped", puppetUserId);
        }
        finally
        {
            // A pump that ends while the connector runs leaves no dead listener behind: the scan starts a new one.
            if (!ct.IsCancellationRequested && _directListeners.TryRemove(new KeyValuePair<string, DirectListener>(puppetUserId, listener)))
            {
                await listener.Stream.DisposeAsync();
            }
        }
    }

    /// <summary>The channel of a post or reaction event; null for other events.</summary>
    private static string? ChannelOf(StreamItem.Event e)
    {
        switch (e.Name)
        {
            case "posted" or "post_edited" or "post_deleted":
                try
                {
                    return ParsePost(e.Data)?.ChannelId is { Length: > 0 } id ? id : null;
                }
                catch (System.Text.Json.JsonException)
                {
                    return null; // not a post at all: handled (and dropped, logged) on its own, freezing no channel
                }
            case "reaction_added" or "reaction_removed":
                if (e.Data["reaction"] is not JsonValue v || !v.TryGetValue<string>(out var json))
                {
                    return null;
                }

                try
                {
                    return JsonNode.Parse(json) is JsonObject reaction && reaction["channel_id"] is JsonValue c && c.TryGetValue<string>(out var channel) && channel.Length > 0
                        ? channel
                        : null;
                }
                catch (System.Text.Json.JsonException)
                {
                    return null; // not a reaction at all: the handler drops it
                }
            default:
                return null;
        }
    }

    /// <summary>A person's first post in a DM with a puppet: ask the core to open a portal to the person the puppet stands for.</summary>
    private async Task<bool> OpenFromPostAsync(string puppetUserId, JsonObject data, CancellationToken ct)
    {
        if (Direct is not { } dms || ParsePost(data) is not { } post || IsOwn(post) || post.Type.Length > 0
            || data["channel_type"]?.GetValue<string>() != "D"
            || data["channel_name"]?.GetValue<string>() is not { } name || !name.Split("__").Contains(puppetUserId) || !name.Split("__").Contains(post.UserId)
            || _puppets.PersonOf(puppetUserId) is not { } target)
        {
            return false;
        }

        // Direct messages off on the network of the person the puppet stands for: a post that could never open a chat
        // does not reach the core (no audit row, no lock), as when they are off on this network.
        if (!dms.IsEnabled(target.NetworkId))
        {
            _logger.LogDebug(DirectEvent, "The direct message of {Person} to puppet {Puppet} is ignored: direct messages are off on network {Network}",
                post.UserId, puppetUserId, target.NetworkId);
            return false;
        }

        var from = await PersonAsync(post, ct);
        var opening = await dms.OpenAsync(from, post.ChannelId, target, ct);
        if (!opening.Opened)
        {
            _logger.LogInformation(DirectEvent, "The direct message of {Person} to puppet {Puppet} does not cross: {Reason}", post.UserId, puppetUserId, opening.Refusal);
        }

        return opening.Opened;
    }

    /// <summary>
    /// What a puppet's DM channels in force received while it was not listening (the bridge down, a reconnection),
    /// read with its token from each channel's cursor, as the bridge account's catch-up does for linked channels.
    /// </summary>
    private async Task CatchUpDirectAsync(DirectCatchUp catchUp, CancellationToken ct)
    {
        if (Direct is not { } dms)
        {
            return;
        }

        var total = 0;
        var channels = new List<(ResolvedChannel Channel, long Frozen)>();
        foreach (var portal in dms.PortalsOn(_network.Id))
        {
            var party = portal.On(_network.Id)!;
            if (_puppets.UserIdOf(portal.Other(party).PersonKey) == catchUp.PuppetUserId && DirectChannel(party.ChannelId) is { } direct)
            {
                // Frozen until read over: if this catch-up fails at any of them, no live event may move their cursors past
                // what it could not read (the retry reads them again).
                channels.Add((direct, Freeze(direct.NativeId)));
            }
        }

        Exception? failed = null;
        foreach (var (channel, frozenUnder) in channels)
        {
            var since = Math.Max(0, _cursors.Get(channel.NativeId) - (long)_options.CatchUpSkew.TotalMilliseconds);
            try
            {
                var posts = await ChangedSinceAsync(channel.NativeId, since, catchUp.Token, ct);
                total += await CatchUpPostsAsync(channel, posts, ct);
                ThawIfSame(channel.NativeId, frozenUnder);
            }
            catch (MattermostApiException e) when (!e.IsTransient && e.Status != System.Net.HttpStatusCode.TooManyRequests)
            {
                // The DM is gone or the puppet is no longer in it: nothing to read.
                _logger.LogWarning(DirectEvent, "Direct channel {Channel} not caught up: {Error}", channel.NativeId, e.Message);
                ThawIfSame(channel.NativeId, frozenUnder);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                // This one stays frozen for the retry; the puppet's other DMs are read all the same.
                failed ??= e;
            }
        }

        if (failed is not null)
        {
            throw new InvalidOperationException($"direct channels of puppet {catchUp.PuppetUserId} not all caught up: {failed.Message}", failed);
        }

        Succeeded(DirectLane);
        _logger.LogInformation(DirectEvent, "Direct-message catch-up of puppet {Puppet} ({Reason}): {Count} post(s) checked", catchUp.PuppetUserId, catchUp.Reason, total);
    }
}
