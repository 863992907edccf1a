using System.Globalization;
using Bridge.Core.Model;
using Bridge.Xmpp.Muc;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

/// <summary>The single ingest worker (hands events to the core in arrival order) and the saved catch-up positions.</summary>
internal sealed partial class XmppConnector
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Key, string Value)> _idMapWrites = new();

    /// <summary>Saved: a sender's message id → the native id we reported (XMPP corrections name the message id).</summary>
    private static string MessageIdKey(RoomState room, string messageId) => $"msgid:{room.Key}:{messageId}";

    /// <summary>Saved: the native id of a message we sent → our message id (our corrections must name it).</summary>
    private static string SentIdKey(RoomState room, string nativeId) => $"sent:{room.Key}:{nativeId}";


    /// <summary>The most messages handed to the core in one store transaction (see <see cref="IngestWorkerAsync"/>).</summary>
    private const int MaxIngestBatch = 100;

    private async Task IngestWorkerAsync(CancellationToken stop)
    {
        // Per room: how many catch-ups are open (one connection's may still be finishing when the next begins) and the
        // live messages held until the last one is done.
        var held = new Dictionary<RoomState, (int Open, List<InboundMessage> Live)>();

        // Messages already queued behind each other go to the core together, in one store transaction: a burst (a
        // flood, a catch-up page) costs one commit per batch instead of one per message, so the stream's other rooms
        // wait less behind it. Messages that need a saved id looked up first (a correction, retraction or reply naming
        // a message no longer in memory), reaction sets, a live message of a room still catching up, catch-up marks and
        // reflections first hand over what is gathered, so everything still reaches the core in arrival order.
        var gathered = new List<InboundMessage>(MaxIngestBatch);
        try
        {
            await foreach (var item in _inbound.Reader.ReadAllAsync(CancellationToken.None))
            {
                if (item is InboundMessage plain && Batchable(plain) && !(plain.Live && held.ContainsKey(plain.Room)))
                {
                    gathered.Add(plain);
                    if (gathered.Count < MaxIngestBatch && _inbound.Reader.Count > 0)
                    {
                        continue;
                    }

                    await IngestGatheredAsync(gathered, stop);
                    continue;
                }

                await IngestGatheredAsync(gathered, stop);
                switch (item)
                {
                    case CatchUpStart start:
                        held[start.Room] = held.TryGetValue(start.Room, out var opened) ? (opened.Open + 1, opened.Live) : (1, []);
                        break;
                    case CatchUpDone done when held.TryGetValue(done.Room, out var open) && open.Open > 1:
                        held[done.Room] = (open.Open - 1, open.Live);
                        break;
                    case CatchUpDone done:
                        if (held.Remove(done.Room, out var last))
                        {
                            foreach (var message in last.Live)
                            {
                                await IngestOneAsync(message, stop);
                            }
                        }

                        break;
                    case InboundMessage { Live: true } live when held.TryGetValue(live.Room, out var buffer):
                        buffer.Live.Add(live);
                        break;
                    case InboundMessage message:
                        await IngestOneAsync(message, stop);
                        break;
                    case OwnReflection { PositionOnly: true } position when position.Room.LastStanzaId is not null:
                        break; // live traffic already gave a newer position
                    case OwnReflection own when own.StanzaId is not null:
                        own.Room.Seen.Set(own.StanzaId, true);
                        own.Room.LastStanzaId = own.StanzaId;
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping: what was not ingested is fetched from the archive on the next start.
        }
    }

    /// <summary>A message that needs nothing looked up before it goes to the core: no saved id to read, no reaction set to compare.</summary>
    private static bool Batchable(InboundMessage m) => m.ReactionSet is null && m.UnresolvedTargetOf is null && m.UnresolvedReplyTo is null;

    /// <summary>Hands the gathered messages to the core in one store transaction (all or nothing, retried as one) and empties the list.</summary>
    private async Task IngestGatheredAsync(List<InboundMessage> gathered, CancellationToken stop)
    {
        if (gathered.Count == 0)
        {
            return;
        }

        var fresh = gathered.Where(m => !m.Room.Seen.Contains(m.Event.NativeId)).ToList();
        gathered.Clear();
        if (fresh.Count == 0)
        {
            return;
        }

        if (fresh.Count == 1)
        {
            await IngestOneAsync(fresh[0], stop);
            return;
        }

        var events = fresh.ConvertAll(m => m.Event);
        await HandOverAsync(fresh[0], () => _context.Sink.IngestBatchAsync(events, stop), stop, events.Count);
        foreach (var message in fresh)
        {
            Ingested(message);
        }
    }

    /// <summary>
    /// The native id saved for a message id the in-memory map no longer holds (a message from before a restart, or one
    /// the bounded cache evicted); null when nothing was saved (then the message id is its native id).
    /// </summary>
    private async Task<string?> ReadSavedNativeIdAsync(RoomState room, string messageId, CancellationToken stop)
    {
        // Memory first: a live correction can overtake the archive page that holds its original (read during a
        // catch-up), whose pair the background save has not written yet. Then the saved id map, for a message from
        // before a restart or evicted from the cache.
        if (room.MessageIdToNative.TryGet(messageId, out var known))
        {
            return known;
        }

        try
        {
            if (await _context.State.GetAsync(_stateScope, MessageIdKey(room, messageId), stop) is { } native)
            {
                room.MessageIdToNative.Set(messageId, native);
                return native;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(XmppLog.StateFailed, ex, "Could not look up the message {Id} named in {Room}", messageId, room.Key);
        }

        return null;
    }

    private async Task IngestOneAsync(InboundMessage message, CancellationToken stop)
    {
        var room = message.Room;
        if (room.Seen.Contains(message.Event.NativeId))
        {
            return; // replayed by a catch-up (archive page or join history) after we already had it
        }

        var bridgeEvent = message.Event;
        if (message.UnresolvedTargetOf is { } targetId && await ReadSavedNativeIdAsync(room, targetId, stop) is { } targetNative)
        {
            bridgeEvent = bridgeEvent with { TargetNativeId = targetNative };
        }

        if (message.UnresolvedReplyTo is { } replyId && await ReadSavedNativeIdAsync(room, replyId, stop) is { } replyNative)
        {
            bridgeEvent = bridgeEvent with { ReplyToNativeId = replyNative };
        }

        await HandOverAsync(message, message.ReactionSet is { } keys
            ? () => IngestReactionSetAsync(bridgeEvent, keys, stop)
            : () => _context.Sink.IngestAsync(bridgeEvent, stop), stop);
        Ingested(message);
    }

    /// <summary>
    /// Runs <paramref name="handOver"/> until the core has made it durable. When it cannot (store busy, disk full) the
    /// message, or the batch of <paramref name="count"/> that starts with <paramref name="first"/>, is kept, nothing
    /// further is read (the queue behind it waits, so order holds) and it is tried again, whole. Once per streak at
    /// warning level: the store itself reports the cause at error level, once.
    /// </summary>
    private async Task HandOverAsync(InboundMessage first, Func<Task> handOver, CancellationToken stop, int count = 1)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                await handOver();
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
            {
                if (delay == TimeSpan.FromMilliseconds(200))
                {
                    _logger.LogWarning(XmppLog.IngestFailed, ex, "Could not hand {Count} message(s) from {NativeId} in {Room} on to the core; holding them and retrying", count, first.Event.NativeId, first.Room.Key);
                }
                else
                {
                    _logger.LogDebug(XmppLog.IngestFailed, "Still cannot hand {Count} message(s) from {NativeId} in {Room} on to the core; retrying in {Delay}", count, first.Event.NativeId, first.Room.Key, delay);
                }

                await Task.Delay(delay, _context.Time, stop);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5_000));
            }
        }
    }

    /// <summary>What the connector keeps of a message once the core has it: seen, its id pair, the room's catch-up position.</summary>
    private void Ingested(InboundMessage message)
    {
        var room = message.Room;
        room.Seen.Set(message.Event.NativeId, true);
        if (message.MessageId is { } messageId)
        {
            _idMapWrites.Enqueue((MessageIdKey(room, messageId), message.Event.NativeId));
        }

        if (message.StanzaId is not null)
        {
            room.LastStanzaId = message.StanzaId;
        }

        if (room.LastStamp is null || message.Event.Timestamp > room.LastStamp)
        {
            room.LastStamp = message.Event.Timestamp;
        }
    }

    /// <summary>
    /// XEP-0444 sends a person's whole set: compare it with the set kept for (message, person) and hand the core one
    /// add per new key and one removal per missing key. Each gets an id derived from the stanza's, so a replay (archive
    /// page, retry after a failed ingest) yields the same ids and the core drops them as duplicates. A set older than the
    /// kept one (an archived stanza after a newer live one) changes nothing.
    /// </summary>
    private async Task IngestReactionSetAsync(BridgeEvent stanza, IReadOnlyList<string> keys, CancellationToken ct)
    {
        if (stanza.TargetNativeId is not { } target)
        {
            return;
        }

        var owner = new Bridge.Core.Reactions.ReactionOwner(_network.Id, target, stanza.Sender.UserId);
        var known = await _context.Reactions.GetReactionsAsync(owner, ct);
        if (known.At > stanza.Timestamp)
        {
            _logger.LogDebug(XmppLog.ReactionsStale, "Reactions {NativeId} on {Target} are older than the set already known; ignored", stanza.NativeId, target);
            return;
        }

        var changes = Bridge.Core.Reactions.ReactionChanges.Between(known, keys);
        foreach (var key in changes.Removed)
        {
            await _context.Sink.IngestAsync(stanza with { NativeId = $"{stanza.NativeId}#-{key}", Kind = BridgeEventKind.ReactionRemoved, ReactionKey = key }, ct);
        }

        foreach (var key in changes.Added)
        {
            await _context.Sink.IngestAsync(stanza with { NativeId = $"{stanza.NativeId}#+{key}", Kind = BridgeEventKind.Reaction, ReactionKey = key }, ct);
        }

        var next = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            next[key] = "";
        }

        await _context.Reactions.PutReactionsAsync(owner, new Bridge.Core.Reactions.ReactionSet(next, stanza.Timestamp), ct);
    }

    private bool _stateWritesFailing;
    private bool _stateWriteFailedThisTick;

    /// <summary>A failed position write is retried next tick; said once per streak (a full disk fails every tick).</summary>
    private void StateWriteFailed(Exception ex, string what)
    {
        _stateWriteFailedThisTick = true;
        if (_stateWritesFailing)
        {
            _logger.LogDebug(XmppLog.StateFailed, "Still cannot save {What}: {Error}", what, ex.Message);
            return;
        }

        _stateWritesFailing = true;
        _logger.LogWarning(XmppLog.StateFailed, ex, "Could not save {What}; retrying every second", what);
    }

    private async Task PersistLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _context.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                _stateWriteFailedThisTick = false;
                await PersistPositionsAsync(final: false, stop);
                await PurgeSendMarksAsync(stop);
                _stateWritesFailing &= _stateWriteFailedThisTick;
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>How long the final save waits for a loop pass still writing (its id pairs are out of the queue until it ends).</summary>
    private static readonly TimeSpan FinalSaveWait = TimeSpan.FromSeconds(10);

    /// <summary>One save at a time: the final one must not write positions past pairs a cut-short loop pass still holds.</summary>
    private readonly SemaphoreSlim _persistGate = new(1, 1);

    private async Task PersistPositionsAsync(bool final, CancellationToken cancellationToken)
    {
        if (!await _persistGate.WaitAsync(final ? FinalSaveWait : Timeout.InfiniteTimeSpan, cancellationToken))
        {
            // The saved positions stay behind: the next start reads a little more of the archive (deduplicated) rather
            // than skipping messages whose id pairs may never have been written.
            _logger.LogWarning(XmppLog.StateFailed, "A background save did not finish within {Wait}; the catch-up positions are left where they were", FinalSaveWait);
            return;
        }

        try
        {
            await PersistPairsThenPositionsAsync(final, cancellationToken);
        }
        finally
        {
            _persistGate.Release();
        }
    }

    /// <summary>
    /// Saves the id pairs, then each room's catch-up position, never a position past a pair not yet saved: a correction
    /// caught up after a restart from beyond the position names its original by a message id only that pair resolves.
    /// The position trails the live one by one tick on purpose: a message we sent whose delivery the core has not
    /// recorded yet stays inside the next catch-up window, where it is recognised instead of being sent twice.
    /// </summary>
    private async Task PersistPairsThenPositionsAsync(bool final, CancellationToken cancellationToken)
    {
        // Positions are read before the pairs are taken: the ingest worker queues a message's pair before it moves the
        // position past it, so every pair up to these positions is in this batch or was saved by an earlier one.
        var positions = Rooms.Select(room => (Room: room, StanzaId: room.LastStanzaId, Stamp: room.LastStamp)).ToList();

        // Id pairs (written in the background so neither receiving nor delivering waits for them), as one batch: one
        // commit per tick instead of one per message.
        var pairs = new List<KeyValuePair<string, string>>();
        while (_idMapWrites.TryDequeue(out var pair))
        {
            pairs.Add(new KeyValuePair<string, string>(pair.Key, pair.Value));
        }

        if (pairs.Count > 0)
        {
            try
            {
                await _context.State.SetPerMessageAsync(_stateScope, pairs, cancellationToken); // pruned by retention:messageMap
            }
            catch (Exception ex)
            {
                // Put back, not lost, however the write ended (a stop cancels it mid-way): the final save, or the next
                // tick, writes them. No position moves in this pass.
                foreach (var pair in pairs)
                {
                    _idMapWrites.Enqueue((pair.Key, pair.Value));
                }

                if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                StateWriteFailed(ex, $"{pairs.Count} id pairs");
                return;
            }
        }

        // Every room's position of this tick in one store call (one commit, where a room with traffic cost two each
        // tick before): with many busy rooms that was a commit per room and second. All or nothing: a failed write
        // leaves every room's saved position where it was, and the next tick writes them again.
        var entries = new List<KeyValuePair<string, string>>();
        var saved = new List<Action>();
        foreach (var (room, stanzaId, stamp) in positions)
        {
            if (stamp is { } lastStamp && lastStamp != room.PersistedStamp)
            {
                entries.Add(new(LastStampKey(room), lastStamp.ToString("O", CultureInfo.InvariantCulture)));
                saved.Add(() => room.PersistedStamp = lastStamp);
            }

            var value = final || room.PersistedStanzaId is null ? stanzaId : room.PendingPersist;
            room.PendingPersist = stanzaId;
            if (value is not null && value != room.PersistedStanzaId)
            {
                entries.Add(new(LastIdKey(room), value));
                saved.Add(() => room.PersistedStanzaId = value);
            }
        }

        if (entries.Count == 0)
        {
            return;
        }

        try
        {
            await _context.State.SetManyAsync(_stateScope, entries, cancellationToken);
            foreach (var markSaved in saved)
            {
                markSaved();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            StateWriteFailed(ex, $"{entries.Count} catch-up positions");
        }
    }
}
