using System.Text.RegularExpressions;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Links;

/// <summary>
/// Links at run time. The file's links are declarative and read-only here; links made through the admin API are kept
/// in the store and put in force without a restart. Each change is validated first, then committed to the store with its
/// audit record (and the dead-lettering of rows a removed endpoint can no longer receive) in one transaction, then put in
/// force (<see cref="BridgeTopology.ReplaceLinks"/>), then the connectors join and leave rooms. A change that fails
/// validation or the commit changes nothing.
/// </summary>
public sealed partial class LinkManager
{
    private const int MaxChannelLength = 512;
    private readonly BridgeTopology _topology;
    private readonly IAdminStore _store;
    private readonly ConnectorRegistry _connectors;
    private readonly DeliverySignals _signals;
    private readonly ILogger<LinkManager> _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly IReadOnlyList<LinkDefinition> _fileLinks;
    private List<LinkDefinition> _apiLinks = [];
    private Dictionary<string, (DateTimeOffset At, string By)> _changed = new(StringComparer.Ordinal);

    public LinkManager(BridgeTopology topology, IAdminStore store, ConnectorRegistry connectors, DeliverySignals signals, ILogger<LinkManager> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        _topology = topology;
        _store = store;
        _connectors = connectors;
        _signals = signals;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _fileLinks = [.. topology.Links.Where(l => l.Source == LinkSource.File)];
    }

    /// <summary>
    /// Every stored direct-message portal as a link, in force or not (a portal is kept but out of force while a side has
    /// direct messages off, and comes back when they are on): no link may take its channels meanwhile either.
    /// </summary>
    public Func<IEnumerable<LinkDefinition>>? Portals { get; init; }

    /// <summary>Portal ids are <c>dm-</c> and 20 hex digits; links may not take that prefix.</summary>
    private const string PortalIdPrefix = "dm-";

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}$")]
    private static partial Regex IdPattern();

    /// <summary>When and by whom an API link was last changed; null for a file link.</summary>
    public (DateTimeOffset At, string By)? LastChange(string id) => _changed.TryGetValue(id, out var c) ? c : null;

    /// <summary>
    /// Puts the stored links in force (at start, after the schema is migrated and before the connectors start). A stored
    /// link that no longer fits the file (its network gone, its id or a channel now taken by the file) is left out and
    /// logged, never half-applied; it stays stored, so fixing the file brings it back.
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var stored = await _store.GetLinksAsync(cancellationToken);
        var api = new List<LinkDefinition>();
        var changed = new Dictionary<string, (DateTimeOffset, string)>(StringComparer.Ordinal);
        foreach (var row in stored)
        {
            try
            {
                if (row.Id.StartsWith(PortalIdPrefix, StringComparison.Ordinal))
                {
                    throw new LinkChangeException(400, $"link ids may not start with '{PortalIdPrefix}', which names direct-message portals", "id");
                }

                var spec = LinkSpec.FromJson(row.DefinitionJson);
                Validate(row.Id, spec, others: [.. _fileLinks, .. api], checkChannels: false);
                api.Add(spec.ToDefinition(row.Id));
                changed[row.Id] = (row.UpdatedAt, row.UpdatedBy);
            }
            catch (Exception ex) when (ex is LinkChangeException or System.Text.Json.JsonException)
            {
                _logger.LogError(LinkLog.StoredLinkRefused, "Stored link {Link} is not in force: {Reason}", row.Id, ex.Message);
            }
        }

        _apiLinks = api;
        _changed = changed;
        _topology.ReplaceLinks([.. _fileLinks, .. _apiLinks]);
        if (api.Count > 0)
        {
            _logger.LogInformation(LinkLog.Loaded, "{Count} link(s) made through the admin API are in force", api.Count);
        }
    }

    public Task<LinkDefinition> CreateAsync(string? id, LinkSpec spec, string by, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrEmpty(id))
        {
            throw new LinkChangeException(400, "required: the link's id", "id");
        }

        return ChangeAsync(id, allowCreate: true, _ => spec with { }, "link-created", by, cancellationToken);
    }

    public Task<LinkDefinition> AddEndpointAsync(string id, EndpointSpec endpoint, string by, CancellationToken cancellationToken) =>
        ChangeAsync(id, allowCreate: false, current => current with { Endpoints = [.. current.Endpoints, endpoint] }, "endpoint-added", by, cancellationToken);

    public Task<LinkDefinition> RemoveEndpointAsync(string id, string network, string channel, string by, CancellationToken cancellationToken) =>
        ChangeAsync(id, allowCreate: false, current =>
        {
            var rest = current.Endpoints.Where(e => !(e.Network == network && e.Channel == channel)).ToList();
            if (rest.Count == current.Endpoints.Count)
            {
                throw new LinkChangeException(404, $"link '{id}' has no endpoint {network}/{channel}", "channel");
            }

            if (rest.Count < 2)
            {
                throw new LinkChangeException(409, $"a link needs at least two endpoints; delete link '{id}' instead", "channel");
            }

            return current with { Endpoints = rest };
        }, "endpoint-removed", by, cancellationToken);

    public Task<LinkDefinition> SetPausedAsync(string id, bool paused, string by, CancellationToken cancellationToken) =>
        ChangeAsync(id, allowCreate: false, current => current with { Paused = paused }, paused ? "link-paused" : "link-resumed", by, cancellationToken);

    /// <summary>Changes what the request names (endpoints, translation, paused); the rest stays.</summary>
    public Task<LinkDefinition> UpdateAsync(string id, Func<LinkSpec, LinkSpec> change, string by, CancellationToken cancellationToken) =>
        ChangeAsync(id, allowCreate: false, change, "link-changed", by, cancellationToken);

    public async Task DeleteAsync(string id, string by, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken);
        try
        {
            var current = FindChangeable(id);
            var reason = $"endpoint-removed: link {id} deleted through the admin API by {by}";
            var audit = Audit("link-deleted", by, id, "", LinkSpec.Of(current).ToJson());
            var dead = await _store.ChangeLinkAsync(id, null, by, current.Endpoints, reason, [audit], cancellationToken);
            _apiLinks = [.. _apiLinks.Where(l => l.Id != id)];
            _changed.Remove(id);
            await PutInForceAsync(current.Endpoints, [], cancellationToken);
            _logger.LogInformation(LinkLog.Changed, "Link {Link} deleted by {By}; {Dead} pending row(s) dead-lettered", id, by, dead);
        }
        finally
        {
            _changes.Release();
        }
    }

    private async Task<LinkDefinition> ChangeAsync(string id, bool allowCreate, Func<LinkSpec, LinkSpec> change, string decision, string by, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken);
        try
        {
            LinkDefinition? current = null;
            if (allowCreate)
            {
                if (!IdPattern().IsMatch(id))
                {
                    throw new LinkChangeException(400, $"'{Shorten(id)}' is not a link id: lower-case letters, digits, '-' and '_', at most 63, starting with a letter or digit", "id");
                }

                if (id.StartsWith(PortalIdPrefix, StringComparison.Ordinal))
                {
                    throw new LinkChangeException(400, $"'{Shorten(id)}': link ids may not start with '{PortalIdPrefix}', which names direct-message portals", "id");
                }

                if (_topology.FindLink(id) is { } existing)
                {
                    throw new LinkChangeException(409, existing.Source switch
                    {
                        LinkSource.File => $"link '{id}' is defined in the configuration file",
                        LinkSource.Direct => $"'{id}' is a direct-message portal",
                        _ => $"link '{id}' already exists",
                    }, "id");
                }
            }
            else
            {
                current = FindChangeable(id);
            }

            var before = current is null ? new LinkSpec() : LinkSpec.Of(current);
            var after = change(before);
            Validate(id, after, others: [.. _fileLinks, .. _apiLinks.Where(l => l.Id != id), .. _topology.Links.Where(l => l.Source == LinkSource.Direct), .. Portals?.Invoke() ?? []],
                checkChannels: true, existing: current?.Endpoints);
            var next = after.ToDefinition(id);
            var removed = current?.Endpoints.Except(next.Endpoints).ToList() ?? [];
            var added = next.Endpoints.Except(current?.Endpoints ?? []).ToList();
            var reason = $"endpoint-removed: removed from link {id} through the admin API by {by}";
            var audits = new List<Storage.AuditDraft> { Audit(decision, by, id, string.Join(", ", added.Concat(removed)), after.ToJson()) };
            var joined = await JoinBeforeLinkingAsync(next, added, cancellationToken);
            int dead;
            try
            {
                dead = await _store.ChangeLinkAsync(id, after.ToJson(), by, removed, reason, audits, cancellationToken);
            }
            catch
            {
                await UndoJoinsAsync(joined);
                throw;
            }

            _apiLinks = current is null ? [.. _apiLinks, next] : [.. _apiLinks.Select(l => l.Id == id ? next : l)];
            _changed[id] = (_time.GetUtcNow(), by);
            await PutInForceAsync(removed, added, cancellationToken);
            if (current is { Paused: true } && !next.Paused)
            {
                // Resumed: wake every destination's worker; the held rows go now, in order.
                foreach (var network in next.Endpoints.Select(e => e.NetworkId).Distinct(StringComparer.Ordinal))
                {
                    _signals.Signal(network);
                }
            }

            _logger.LogInformation(LinkLog.Changed, "Link {Link}: {Decision} by {By}{Dead}", id, decision, by,
                dead > 0 ? $"; {dead} pending row(s) toward the removed endpoint dead-lettered" : "");
            return next;
        }
        finally
        {
            _changes.Release();
        }
    }

    private LinkDefinition FindChangeable(string id)
    {
        var link = _topology.FindLink(id) ?? throw new LinkChangeException(404, $"no link '{Shorten(id)}'", "id");
        if (link.Source == LinkSource.File)
        {
            throw new LinkChangeException(409, $"link '{id}' is defined in the configuration file and is read-only here: change it in the file", "id");
        }

        if (link.Source == LinkSource.Direct)
        {
            // Its two channels are two people's private chat: made a link, paused or given more endpoints, it would
            // carry their chat where they never took it (GET /api/direct lists portals).
            throw new LinkChangeException(409, $"'{id}' is a direct-message portal between two people, not a link: it cannot be changed here", "id");
        }

        return link;
    }

    /// <summary>Every problem of a link definition, named by the request field; throws on the first.</summary>
    private void Validate(string id, LinkSpec spec, IReadOnlyList<LinkDefinition> others, bool checkChannels, IReadOnlyList<ChannelRef>? existing = null)
    {
        if (spec.Endpoints.Count < 2)
        {
            throw new LinkChangeException(400, "a link needs at least two endpoints", "endpoints");
        }

        var seen = new HashSet<ChannelRef>();
        for (var i = 0; i < spec.Endpoints.Count; i++)
        {
            var e = spec.Endpoints[i];
            var at = $"endpoints[{i}]";
            if (string.IsNullOrEmpty(e.Network))
            {
                throw new LinkChangeException(400, "required: the endpoint's network", at + ".network");
            }

            if (!_topology.TryGetNetwork(e.Network, out _))
            {
                throw new LinkChangeException(400, $"'{Shorten(e.Network)}' is not a configured network (configured: {string.Join(", ", _topology.Networks.Select(n => n.Id))})", at + ".network");
            }

            if (string.IsNullOrWhiteSpace(e.Channel) || e.Channel.Length > MaxChannelLength || e.Channel.Any(char.IsControl) || e.Channel != e.Channel.Trim())
            {
                throw new LinkChangeException(400, $"required: the channel, at most {MaxChannelLength} characters, no control characters or surrounding spaces", at + ".channel");
            }

            if (checkChannels && _connectors.Find(e.Network)?.CheckChannel(e.Channel) is { } problem)
            {
                throw new LinkChangeException(400, $"{e.Network} cannot use '{Shorten(e.Channel)}': {problem}", at + ".channel");
            }

            if (e.Language is { } language && (language.Length is 0 or > 35 || !language.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
            {
                throw new LinkChangeException(400, "must be a language code such as en or pt-BR", at + ".language");
            }

            var channel = new ChannelRef(e.Network, e.Channel);
            if (checkChannels && existing?.Contains(channel) != true && _connectors.Find(e.Network) is { JoinsChannelsLive: false } fixedRooms)
            {
                throw new LinkChangeException(409, $"network {e.Network} ({fixedRooms.Kind.ToString().ToLowerInvariant()}) cannot join rooms at run time in this version: add this endpoint to the configuration file", at + ".network");
            }

            if (!seen.Add(channel))
            {
                throw new LinkChangeException(400, $"{channel} is named twice", at + ".channel");
            }

            if (others.FirstOrDefault(l => l.Endpoints.Contains(channel)) is { } taken)
            {
                throw new LinkChangeException(409, taken.Source == LinkSource.Direct
                    ? $"{channel} is a direct-message chat between two people (portal '{taken.Id}'); it cannot be linked"
                    : $"{channel} is already in link '{taken.Id}' ({(taken.Source == LinkSource.File ? "configuration file" : "admin API")}); a channel belongs to one link", at + ".channel");
            }
        }

        if (spec.Translation is { Length: > 200 })
        {
            throw new LinkChangeException(400, "too long", "translation");
        }

        _ = id;
    }

    /// <summary>
    /// Joins the added channels on networks where the bridge account must be a member before a link can use them
    /// (<see cref="INetworkConnector.JoinBeforeLinkingAsync"/>), before anything is committed: a refusal is the request's
    /// fault (400, naming the endpoint's channel), a network that cannot be asked now is not (503); either way the joins
    /// already made are undone and nothing changes.
    /// </summary>
    private async Task<List<ChannelRef>> JoinBeforeLinkingAsync(LinkDefinition next, IReadOnlyList<ChannelRef> added, CancellationToken cancellationToken)
    {
        var joined = new List<ChannelRef>();
        foreach (var channel in added)
        {
            if (_connectors.Find(channel.NetworkId) is not { } connector)
            {
                continue;
            }

            var at = $"endpoints[{IndexOf(next, channel)}].channel";
            string? refusal;
            try
            {
                refusal = await connector.JoinBeforeLinkingAsync(channel.ChannelId, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                await UndoJoinsAsync(joined);
                throw new LinkChangeException(503, $"network {channel.NetworkId} cannot join '{Shorten(channel.ChannelId)}' now ({ex.Message}); nothing was changed: try again", at);
            }

            if (refusal is not null)
            {
                await UndoJoinsAsync(joined);
                throw new LinkChangeException(400, $"{channel.NetworkId} cannot use '{Shorten(channel.ChannelId)}': {refusal}", at);
            }

            joined.Add(channel);
        }

        return joined;
    }

    private static int IndexOf(LinkDefinition link, ChannelRef channel)
    {
        for (var i = 0; i < link.Endpoints.Count; i++)
        {
            if (link.Endpoints[i] == channel)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Leaves again what <see cref="JoinBeforeLinkingAsync"/> joined for a change that did not happen.</summary>
    private async Task UndoJoinsAsync(IReadOnlyList<ChannelRef> joined)
    {
        foreach (var network in joined.GroupBy(c => c.NetworkId, StringComparer.Ordinal))
        {
            try
            {
                await (_connectors.Find(network.Key)?.ChannelsChangedAsync([], [.. network.Select(c => c.ChannelId)], CancellationToken.None) ?? Task.CompletedTask);
            }
            catch (Exception ex)
            {
                _logger.LogWarning(LinkLog.JoinFailed, ex, "Network {Network} could not leave the rooms joined for a change that was not made", network.Key);
            }
        }
    }

    /// <summary>The new links in force, then the rooms joined and left; a connector that fails here logs and retries as at start.</summary>
    private async Task PutInForceAsync(IReadOnlyList<ChannelRef> removed, IReadOnlyList<ChannelRef> added, CancellationToken cancellationToken)
    {
        _topology.ReplaceLinks([.. _fileLinks, .. _apiLinks]);
        foreach (var network in removed.Concat(added).Select(c => c.NetworkId).Distinct(StringComparer.Ordinal))
        {
            var connector = _connectors.Find(network);
            if (connector is null)
            {
                continue;
            }

            try
            {
                await connector.ChannelsChangedAsync(
                    [.. added.Where(c => c.NetworkId == network).Select(c => c.ChannelId)],
                    [.. removed.Where(c => c.NetworkId == network).Select(c => c.ChannelId)], cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogError(LinkLog.JoinFailed, ex, "Network {Network} could not join or leave rooms for a link change; it tries again on its next connection", network);
            }

            _signals.Signal(network);
        }
    }

    private Storage.AuditDraft Audit(string decision, string by, string linkId, string destination, string details) => new()
    {
        At = _time.GetUtcNow(),
        Kind = "admin-change",
        Decision = decision,
        SourcePerson = by,
        LinkId = linkId,
        Destination = destination,
        RuleId = "admin",
        Content = details,
    };

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";
}

internal static class LinkLog
{
    public static readonly EventId Loaded = new(1201, "ApiLinksLoaded");
    public static readonly EventId StoredLinkRefused = new(1202, nameof(StoredLinkRefused));
    public static readonly EventId Changed = new(1203, "LinkChanged");
    public static readonly EventId JoinFailed = new(1204, "LinkJoinFailed");
}
