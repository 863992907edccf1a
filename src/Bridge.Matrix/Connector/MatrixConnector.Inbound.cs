using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Reactions;
using Bridge.Matrix.Appservice;
using Bridge.Matrix.Client;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>Homeserver → bridge: transactions (acknowledged only once durable), invites, member tracking.</summary>
public sealed partial class MatrixConnector
{
    /// <summary>How often (in transactions) old transaction marks are pruned; settable for tests.</summary>
    internal int PruneEvery { get; set; } = 500;

    /// <summary>How many of the newest transaction marks are kept.</summary>
    internal int KeepTransactionMarks { get; set; } = 1000;
    private int _transactionsSincePrune;

    private string TxnScope => "matrix:" + NetworkId + ":txns";

    /// <summary>
    /// A transaction is done when every event in it has been ingested (durable). The mark stores the body hash:
    /// a retry of the same transaction is a no-op, while a reused id with other events (a homeserver whose
    /// database was recreated restarts its ids) is processed, with the core deduplicating by event id.
    /// </summary>
    internal Task HandleTransactionAsync(string txnId, byte[] body, JsonArray events, CancellationToken ct) =>
        HandleTransactionAsync(txnId, body, events, [], ct);

    internal async Task HandleTransactionAsync(string txnId, byte[] body, JsonArray events, JsonArray ephemeral, CancellationToken ct)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(body));
        await _transactionGate.WaitAsync(ct);
        try
        {
            if (await _context.State.GetAsync(TxnScope, txnId, ct) is { } seen && seen.StartsWith(hash, StringComparison.Ordinal))
            {
                return;
            }

            // The transaction's events are ingested together, in one store transaction (a commit per event made every
            // room's events queue behind a busy room's commits); the batch is flushed early before an event whose
            // handling depends on the earlier ones being stored. Exceptions propagate: the transaction is then answered
            // 500 and retried by the homeserver, and the batch that failed stored nothing.
            var batch = new List<BridgeEvent>();
            foreach (var node in events)
            {
                if (node is JsonObject ev)
                {
                    await HandleEventAsync(ev, batch, ct);
                }
            }

            await FlushAsync(batch, ct);
            HandleEphemeral(ephemeral);

            var stamp = _context.Time.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
            await _context.State.SetPerMessageAsync(TxnScope, [new(txnId, hash + "|" + stamp)], ct); // also pruned by retention:messageMap
            _logger.LogDebug(MatrixLog.TransactionDone, "Transaction {TxnId} with {Count} events stored", txnId, events.Count);
            if (++_transactionsSincePrune >= PruneEvery)
            {
                _transactionsSincePrune = 0;
                await PruneTransactionMarksAsync(ct);
            }
        }
        finally
        {
            _transactionGate.Release();
        }
    }

    /// <summary>
    /// Keeps the newest transaction marks only: the homeserver retries just its current transaction, so old marks
    /// guard nothing (event ids are deduplicated by the core anyway).
    /// </summary>
    private async Task PruneTransactionMarksAsync(CancellationToken ct)
    {
        var marks = await _context.State.ListAsync(TxnScope, ct);
        if (marks.Count <= KeepTransactionMarks)
        {
            return;
        }

        static long Stamp(string value) =>
            long.TryParse(value.AsSpan(value.IndexOf('|', StringComparison.Ordinal) + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? ms : 0;

        foreach (var (txnId, _) in marks.OrderBy(kv => Stamp(kv.Value)).Take(marks.Count - KeepTransactionMarks))
        {
            await _context.State.DeleteAsync(TxnScope, txnId, ct);
        }
    }

    private async Task HandleEventAsync(JsonObject ev, List<BridgeEvent> batch, CancellationToken ct)
    {
        var type = Str(ev, "type");
        var roomId = Str(ev, "room_id");
        var sender = Str(ev, "sender");
        if (type is null || roomId is null || sender is null)
        {
            _logger.LogWarning(MatrixLog.EventDropped, "Dropped a malformed event (missing type, room_id or sender)");
            return;
        }

        // A DM room (a portal in force, or closed) is never a linked room, even once a delivery has mapped its id.
        var directRoom = IsDirectRoom(roomId) || IsClosedDirectRoom(roomId);
        if (type == "m.room.member")
        {
            // Membership opens and closes DM portals and writes state: everything before it is stored first.
            await FlushAsync(batch, ct);
            HandleMember(ev, roomId);
            if (directRoom)
            {
                await DirectEventAllowedAsync(ev, roomId, sender, ct);
            }
            else
            {
                await HandleDirectInviteAsync(ev, roomId, ct);
            }

            return;
        }

        if (IsOwnUser(sender))
        {
            // Our own deliveries echoed back by the homeserver: never bridged again.
            return;
        }

        if (directRoom && !await DirectEventAllowedAsync(ev, roomId, sender, ct))
        {
            return;
        }

        // After a restart the homeserver may push before the aliases are resolved again: resolve now rather than drop.
        // An unreachable homeserver throws here, so the transaction is retried instead of acknowledged.
        var channel = directRoom ? DirectChannelFor(roomId) : _rooms.ChannelFor(roomId) ?? await _rooms.FindChannelAsync(roomId, Client, ct);
        if (channel is null)
        {
            return;
        }

        var (avatar, avatarRemoved) = await AvatarOfAsync(sender, ct);
        var person = new PersonRef
        {
            NetworkId = NetworkId, UserId = sender, DisplayName = await DisplayNameAsync(sender, ct), Handle = LocalpartOf(sender),
            Avatar = avatar, AvatarRemoved = avatarRemoved,
        };
        var bridgeEvent = _inbound!.Map(ev, channel, person);
        if (bridgeEvent is null)
        {
            return;
        }

        bridgeEvent = await WithMentionsAsync(bridgeEvent, ev, ct);

        if (bridgeEvent.Kind == BridgeEventKind.Delete && bridgeEvent.TargetNativeId is { } redacted)
        {
            // The redaction may name a reaction of an earlier event of this transaction: that one is stored (and its
            // reaction kept) first.
            await FlushAsync(batch, ct);
            if (await _context.Reactions.FindReactionAsync(NetworkId, redacted, ct) is { } reaction)
            {
                await IngestReactionRemovedAsync(bridgeEvent, reaction, ct);
                return;
            }
        }

        if (bridgeEvent is { Kind: BridgeEventKind.Message, ThreadRootNativeId: { } threadRoot })
        {
            // The event is in the room's thread whether or not the batch is stored yet: our next message in that thread
            // names it as its fallback reply, even one delivered before the batch's commit.
            _threadTails.Advance(threadRoot, bridgeEvent.NativeId);
        }

        batch.Add(bridgeEvent);
    }

    /// <summary>
    /// Ingests the pending events in one go (durable when it returns), then what follows each event's ingest, in order:
    /// reactions kept. Throws when the ingest fails (nothing of the batch stored).
    /// </summary>
    private async Task FlushAsync(List<BridgeEvent> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await _context.Sink.IngestBatchAsync(batch, ct);
        foreach (var bridgeEvent in batch)
        {
            if (bridgeEvent is { Kind: BridgeEventKind.Reaction, TargetNativeId: { } target, ReactionKey: { } key })
            {
                // Kept so that the redaction that takes it back (it names only this event) is known as a reaction removal.
                var owner = new ReactionOwner(NetworkId, target, bridgeEvent.Sender.UserId);
                var set = await _context.Reactions.GetReactionsAsync(owner, ct);
                await _context.Reactions.PutReactionsAsync(owner, set.With(key, bridgeEvent.NativeId, bridgeEvent.Timestamp), ct);
            }
        }

        batch.Clear();
    }

    /// <summary>
    /// A redaction of a reaction: the reacting person takes back that key (whoever redacted it: a moderator's redaction
    /// removes the reaction too, so the removal is the reacting person's, whose puppets elsewhere show it).
    /// </summary>
    private async Task IngestReactionRemovedAsync(BridgeEvent redaction, FoundReaction reaction, CancellationToken ct)
    {
        var owner = reaction.Owner;
        var reacting = owner.PersonId == redaction.Sender.UserId
            ? redaction.Sender
            : new PersonRef { NetworkId = NetworkId, UserId = owner.PersonId, DisplayName = await DisplayNameAsync(owner.PersonId, ct), Handle = LocalpartOf(owner.PersonId) };
        await _context.Sink.IngestAsync(redaction with
        {
            Kind = BridgeEventKind.ReactionRemoved,
            Sender = reacting,
            TargetNativeId = owner.MessageId,
            ReactionKey = reaction.Key,
        }, ct);
        var set = await _context.Reactions.GetReactionsAsync(owner, ct);
        await _context.Reactions.PutReactionsAsync(owner, set.Without(reaction.Key, redaction.Timestamp), ct);
    }

    private void HandleMember(JsonObject ev, string roomId)
    {
        var stateKey = Str(ev, "state_key");
        if (stateKey is null || ev["content"] is not JsonObject content)
        {
            return;
        }

        var membership = Str(content, "membership");
        if (Str(content, "displayname") is { Length: > 0 } name && membership == "join")
        {
            _displayNames[stateKey] = name;
        }

        if (membership == "join")
        {
            RememberAvatar(stateKey, content);
        }

        if (stateKey == BotUserId && membership == "invite")
        {
            _ = AcceptInviteAsync(roomId, Str(ev, "sender") ?? "?");
        }
        else if (IsOwnUser(stateKey) && membership is "leave" or "ban")
        {
            // Kicked or left: the next delivery joins again.
            _joined.TryRemove((roomId, stateKey), out _);
            if (stateKey == BotUserId)
            {
                ForgetTyping(roomId); // no m.typing will come from a room the bridge is not in: nothing to repeat
            }
        }
    }

    /// <summary>Joins rooms a link names when invited (in the background: the transaction is acknowledged meanwhile).</summary>
    private async Task AcceptInviteAsync(string roomId, string inviter)
    {
        var ct = _stopping.Token;
        try
        {
            var channel = await _rooms.FindChannelAsync(roomId, Client, ct);
            if (channel is null)
            {
                _logger.LogInformation(MatrixLog.InviteIgnored, "Ignored invite of {Bot} by {Inviter} to {Room}: no link names it", BotUserId, inviter, roomId);
                return;
            }

            await Client.JoinAsync(roomId, null, ct);
            _joined[(roomId, BotUserId)] = 0;
            _logger.LogInformation(MatrixLog.InviteAccepted, "Bridge bot joined {Room} ({Channel}) after an invite by {Inviter}", roomId, channel, inviter);
        }
        catch (Exception ex) when (ex is MatrixApiException or HttpRequestException or OperationCanceledException)
        {
            _logger.LogWarning(MatrixLog.RoomUnavailable, "Could not accept the invite to {Room}: {Error}", roomId, ex.Message);
        }
    }

    private async Task<string> DisplayNameAsync(string userId, CancellationToken ct)
    {
        if (_displayNames.TryGetValue(userId, out var known))
        {
            return known;
        }

        string? name = null;
        try
        {
            name = await Client.GetDisplayNameAsync(userId, ct);
        }
        catch (Exception ex) when (ex is MatrixApiException or HttpRequestException)
        {
            // Fall back to the localpart; the name is refreshed from the next member event.
        }

        name = string.IsNullOrWhiteSpace(name) ? userId.TrimStart('@').Split(':')[0] : name;
        _displayNames[userId] = name;
        return name;
    }

    /// <summary>The localpart of a Matrix user id (what everyone in the room sees), the readable part of their puppets elsewhere.</summary>
    internal static string? LocalpartOf(string userId)
    {
        var colon = userId.IndexOf(':', StringComparison.Ordinal);
        return userId.StartsWith('@') && colon > 1 ? userId[1..colon] : null;
    }

    private static string? Str(JsonObject obj, string name) =>
        Formatting.JsonStrings.Of(obj[name]);

    /// <summary>Adapts the listener's callbacks to the connector.</summary>
    private sealed class Handler(MatrixConnector connector) : IAppserviceHandler
    {
        public Task HandleTransactionAsync(string txnId, byte[] body, JsonArray events, JsonArray ephemeral, CancellationToken cancellationToken) =>
            connector.HandleTransactionAsync(txnId, body, events, ephemeral, cancellationToken);

        /// <summary>Puppets are created when someone from another network speaks, never on demand.</summary>
        public Task<bool> QueryUserAsync(string userId, CancellationToken cancellationToken) =>
            Task.FromResult(connector._puppetNames.ContainsKey(userId.TrimStart('@').Split(':')[0]));

        public Task<bool> QueryAliasAsync(string alias, CancellationToken cancellationToken) => Task.FromResult(false);
    }
}
