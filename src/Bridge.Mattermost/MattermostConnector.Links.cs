using System.Collections.Concurrent;
using System.Net;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Startup;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

/// <summary>
/// Channels linked and unlinked at run time (admin API), and memberships kept right. The server sends a channel's events
/// only to its members and lets only members post, so the bridge account joins a channel before the link change is
/// committed (a refusal refuses the change), puppets join as they deliver, and all of them leave an unlinked channel
/// (except town-square, which nobody can leave). Memberships are checked again on every new WebSocket connection, so a
/// bridge account removed by an admin while the connection was down comes back.
/// </summary>
public sealed partial class MattermostConnector
{
    /// <summary>Channels joined ahead of a link change not yet put in force, by the id the link uses.</summary>
    private readonly ConcurrentDictionary<string, ResolvedChannel> _prepared = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _channelChanges = new(1, 1);

    public bool JoinsChannelsLive => true;

    public string? CheckChannel(string channelId)
    {
        var slash = channelId.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 && channelId.Length == 26 && channelId.All(char.IsAsciiLetterOrDigit))
        {
            return null;
        }

        if (slash == 0 || slash == channelId.Length - 1 || channelId.IndexOf('/', slash + 1) >= 0 || channelId.Any(char.IsWhiteSpace))
        {
            return "not a Mattermost channel: team/channel-name (the URL names), a channel name, or a 26-character channel id";
        }

        return slash < 0 && _options.Team.Length == 0 ? "names no team and mattermost:team is not set: use team/channel-name" : null;
    }

    public async Task<string?> JoinBeforeLinkingAsync(string channelId, CancellationToken cancellationToken)
    {
        if (_facts is not { } facts)
        {
            throw new InvalidOperationException($"Mattermost network {_network.Id} has not started ({_lastError ?? "connecting"})");
        }

        await _channelChanges.WaitAsync(cancellationToken);
        try
        {
            ResolvedChannel channel;
            try
            {
                channel = await ResolveAsync(facts, channelId, cancellationToken);
            }
            catch (MattermostStartupException e)
            {
                return e.Message;
            }

            if (SpelledOtherwise(channel, channelId) is { } other)
            {
                // One channel under two names would be heard under one of them only, and unlinking either would leave it.
                return $"'{channelId}' is the channel already linked as '{other}': link it under that name";
            }

            try
            {
                await JoinAsync(facts, channel, cancellationToken);
            }
            catch (MattermostApiException e) when (!e.IsTransient)
            {
                return $"Mattermost refused to add the bridge account @{facts.Me.Username} to the channel ({(int)e.Status} {e.ErrorId}): " +
                    (facts.Me.IsSystemAdmin ? e.Message : "add it to the channel (a private channel needs an invitation), or give it the system_admin role");
            }

            _prepared[channelId] = channel;
            return null;
        }
        finally
        {
            _channelChanges.Release();
        }
    }

    public async Task ChannelsChangedAsync(IReadOnlyCollection<string> added, IReadOnlyCollection<string> removed, CancellationToken cancellationToken)
    {
        await _channelChanges.WaitAsync(cancellationToken);
        try
        {
            foreach (var channelId in removed)
            {
                var channel = _byConfigured.GetValueOrDefault(channelId);
                if (_prepared.TryRemove(channelId, out var prepared))
                {
                    channel ??= prepared;
                }

                if (channel is null)
                {
                    continue;
                }

                if (await UnregisterAsync(channel, cancellationToken))
                {
                    await LeaveAsync(channel, cancellationToken);
                }
            }

            foreach (var channelId in added)
            {
                if (_prepared.TryRemove(channelId, out var channel))
                {
                    await RegisterAsync(channel, cancellationToken);
                }
                else if (_facts is { } facts)
                {
                    // Not joined ahead (a change made while this network was starting): join now, or at the next connection.
                    await TryJoinAndRegisterAsync(facts, channelId, cancellationToken);
                }
            }
        }
        finally
        {
            _channelChanges.Release();
        }
    }

    /// <summary>
    /// On a new WebSocket connection: channels no longer linked dropped, linked ones not registered yet joined. Whether
    /// the bridge account is still a member of each linked channel is checked by that channel's catch-up
    /// (<see cref="EnsureMemberAsync"/>). Puppets rejoin at their next delivery.
    /// </summary>
    private async Task ReconcileMembershipsAsync(CancellationToken ct)
    {
        if (_facts is not { } facts)
        {
            return;
        }

        await _channelChanges.WaitAsync(ct);
        try
        {
            var wanted = _context.Topology.ChannelsOf(_network.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in _byConfigured.Values.Where(c => !wanted.Contains(c.ConfiguredId)).ToList())
            {
                await UnregisterAsync(gone, ct);
            }

            foreach (var missing in wanted.Where(c => !_byConfigured.ContainsKey(c)))
            {
                await TryJoinAndRegisterAsync(facts, missing, ct);
            }

            _puppets.ForgetMemberships();
        }
        finally
        {
            _channelChanges.Release();
        }
    }

    /// <summary>Channels whose refused re-join was logged at error level since the last new connection.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _joinRefusalsLogged = new(StringComparer.Ordinal);

    /// <summary>
    /// Before a channel's catch-up reads it: an admin may have taken the bridge account out during an outage, so it
    /// joins again. A transient failure fails the catch-up (retried); a refusal is logged (at error level once per
    /// connection; the retries of the failing read ask again) and the catch-up goes on. False: the channel was
    /// unlinked meanwhile, there is nothing to read.
    /// </summary>
    private async Task<bool> EnsureMemberAsync(Startup.ResolvedChannel channel, CancellationToken ct)
    {
        if (_facts is not { } facts)
        {
            return true;
        }

        try
        {
            if (await _api.IsChannelMemberAsync(channel.NativeId, facts.Me.Id, AdminToken, ct))
            {
                return true;
            }

            await _channelChanges.WaitAsync(ct);
            try
            {
                if (_byNative.GetValueOrDefault(channel.NativeId) is null)
                {
                    return false; // unlinked meanwhile: not ours to join
                }

                await JoinAsync(facts, channel, ct);
            }
            finally
            {
                _channelChanges.Release();
            }

            _logger.LogWarning(MattermostLog.MembershipRepaired, "The bridge account @{User} was not in {Channel} any more: joined again",
                facts.Me.Username, channel.ConfiguredId);
        }
        catch (MattermostApiException e) when (!e.IsTransient)
        {
            var level = _joinRefusalsLogged.TryAdd(channel.NativeId, 0) ? LogLevel.Error : LogLevel.Debug;
            _logger.Log(level, MattermostLog.MembershipRepaired, "The bridge account @{User} is not in {Channel} and cannot join it ({Error}): nothing crosses from or to it",
                facts.Me.Username, channel.ConfiguredId, e.Message);
        }

        return true;
    }

    private async Task TryJoinAndRegisterAsync(ServerFacts facts, string channelId, CancellationToken ct)
    {
        try
        {
            var channel = await ResolveAsync(facts, channelId, ct);
            if (SpelledOtherwise(channel, channelId) is { } other)
            {
                _logger.LogError(MattermostLog.ChannelsChanged, "Mattermost channel {Channel} is the channel already linked as {Other}: not heard under a second name; link it under one name only",
                    channelId, other);
                return;
            }

            await JoinAsync(facts, channel, ct);
            await RegisterAsync(channel, ct);
        }
        catch (Exception e) when (e is MattermostStartupException or MattermostApiException)
        {
            _logger.LogError(MattermostLog.ChannelsChanged, "Mattermost channel {Channel} is linked but the bridge account cannot join it ({Error}); tried again at the next connection",
                channelId, e.Message);
        }
    }

    private Task<ResolvedChannel> ResolveAsync(ServerFacts facts, string channelId, CancellationToken ct) =>
        Preflight.ResolveChannelAsync(_api, _options, channelId, _options.Team.Length > 0 ? facts.TeamId : null, new Dictionary<string, string>(StringComparer.Ordinal), ct);

    /// <summary>The bridge account (and the relay bot) into the channel: a system admin adds itself to the team and channel; another account joins a public channel itself.</summary>
    private async Task JoinAsync(ServerFacts facts, ResolvedChannel channel, CancellationToken ct)
    {
        if (!await _api.IsChannelMemberAsync(channel.NativeId, facts.Me.Id, AdminToken, ct))
        {
            if (facts.Me.IsSystemAdmin)
            {
                await _api.AddTeamMemberAsync(channel.TeamId, facts.Me.Id, AdminToken, ct);
            }

            await _api.AddChannelMemberAsync(channel.NativeId, facts.Me.Id, AdminToken, ct);
        }

        if (_relay is { } relay && relay.UserId != facts.Me.Id)
        {
            await _api.AddTeamMemberAsync(channel.TeamId, relay.UserId, AdminToken, ct);
            await _api.AddChannelMemberAsync(channel.NativeId, relay.UserId, AdminToken, ct);
        }
    }

    /// <summary>Puppets, the relay bot, then the bridge account out of an unlinked channel; town-square is never left (the server refuses).</summary>
    private async Task LeaveAsync(ResolvedChannel channel, CancellationToken ct)
    {
        if (channel.Name == Preflight.DefaultChannelName)
        {
            _logger.LogInformation(MattermostLog.ChannelsChanged, "Mattermost channel {Channel} unlinked: its events are ignored now (town-square cannot be left)", channel.ConfiguredId);
            return;
        }

        var me = _facts?.Me.Id;
        var leaving = _puppets.PuppetUserIds.Append(_relay?.UserId).Append(me).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        foreach (var userId in leaving)
        {
            try
            {
                await _api.RemoveChannelMemberAsync(channel.NativeId, userId, AdminToken, ct);
            }
            catch (MattermostApiException e) when (e.Status is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest)
            {
                // Not a member (a puppet that never spoke there), or an account the server will not let go: nothing to undo.
                _logger.LogDebug(MattermostLog.ChannelsChanged, "{User} not removed from {Channel}: {Error}", userId, channel.ConfiguredId, e.Message);
            }
        }

        _logger.LogInformation(MattermostLog.ChannelsChanged, "Mattermost channel {Channel} unlinked at run time: left", channel.ConfiguredId);
    }

    private async Task RegisterAsync(ResolvedChannel channel, CancellationToken ct)
    {
        var alreadyHeard = _byNative.ContainsKey(channel.NativeId);
        if (!alreadyHeard)
        {
            // Like a channel linked at start: from now on, not its history, and not what was written while it was not
            // linked (a cursor left from an earlier link would bring that across at the next catch-up).
            _frozen.TryRemove(channel.NativeId, out _);
            await _cursors.StartAtAsync([channel.NativeId], _context.Time.GetUtcNow().ToUnixTimeMilliseconds(), ct);
        }

        _byConfigured = new Dictionary<string, ResolvedChannel>(_byConfigured, StringComparer.Ordinal) { [channel.ConfiguredId] = channel };
        _byNative = new Dictionary<string, ResolvedChannel>(_byNative, StringComparer.Ordinal) { [channel.NativeId] = channel };

        _logger.LogInformation(MattermostLog.ChannelsChanged, "Mattermost channel {Channel} linked at run time: joined", channel.ConfiguredId);
    }

    /// <summary>
    /// Stops hearing the channel and forgets where its catch-up stood: if it is linked again, it starts from then (the
    /// cursor is dropped here, in memory and in the store, so a restart with the channel linked again does not catch up
    /// the unlinked stretch either).
    /// </summary>
    /// <returns>False when another link still uses the channel (nothing may leave it then).</returns>
    private async Task<bool> UnregisterAsync(ResolvedChannel channel, CancellationToken ct)
    {
        var byConfigured = new Dictionary<string, ResolvedChannel>(_byConfigured, StringComparer.Ordinal);
        byConfigured.Remove(channel.ConfiguredId);
        _byConfigured = byConfigured;
        _puppets.ForgetChannel(channel.NativeId);
        if (byConfigured.Values.FirstOrDefault(c => c.NativeId == channel.NativeId) is { } stillLinked)
        {
            // Another link still uses the channel: it is heard under that name from now on.
            _byNative = new Dictionary<string, ResolvedChannel>(_byNative, StringComparer.Ordinal) { [channel.NativeId] = stillLinked };
            return false;
        }

        var byNative = new Dictionary<string, ResolvedChannel>(_byNative, StringComparer.Ordinal);
        byNative.Remove(channel.NativeId);
        _byNative = byNative;
        _frozen.TryRemove(channel.NativeId, out _);
        await _cursors.ForgetAsync(channel.NativeId, ct);
        return true;
    }

    /// <summary>The name under which <paramref name="channel"/> is already linked, when it is not <paramref name="channelId"/>.</summary>
    private string? SpelledOtherwise(ResolvedChannel channel, string channelId) =>
        _byNative.TryGetValue(channel.NativeId, out var known) && known.ConfiguredId != channelId ? known.ConfiguredId
        : _prepared.Values.FirstOrDefault(p => p.NativeId == channel.NativeId && p.ConfiguredId != channelId)?.ConfiguredId;
}
