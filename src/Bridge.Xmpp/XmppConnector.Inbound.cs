using System.Collections.Concurrent;
using System.Globalization;
using System.Xml.Linq;
using Bridge.Core.Model;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

internal sealed partial class XmppConnector
{
    private const int ArchivePageSize = 100;
    private readonly ConcurrentDictionary<string, RoomState> _archiveQueries = new(StringComparer.Ordinal);

    /// <summary>Archive queries that only establish a position: their results are not ingested.</summary>
    private readonly ConcurrentDictionary<string, RoomState> _positionQueries = new(StringComparer.Ordinal);

    /// <summary>What the reader hands to the ingest worker, in arrival order.</summary>
    private abstract record InboundItem(RoomState Room);

    private sealed record InboundMessage(RoomState Room, BridgeEvent Event, string? StanzaId, bool Live) : InboundItem(Room);

    /// <summary>One of our own messages came back: nothing to ingest, but the room's position moves past it.</summary>
    private sealed record OwnReflection(RoomState Room, string? StanzaId) : InboundItem(Room)
    {
        /// <summary>Only a position (the archive's newest id when we first came): it must not move the position back.</summary>
        public bool PositionOnly { get; init; }
    }

    /// <summary>Live messages of the room are held from here until <see cref="CatchUpDone"/>, so the archive comes first.</summary>
    private sealed record CatchUpStart(RoomState Room) : InboundItem(Room);

    private sealed record CatchUpDone(RoomState Room) : InboundItem(Room);

    // ---------------------------------------------------------------- after (re)connecting

    private async Task SetupAfterConnectAsync(ComponentStream stream, long generation, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(Rooms.Select(room => PrepareRoomAsync(room, cancellationToken)));

            // Puppets are re-joined before anything is sent again: sending first is how messages got lost (Bifröst).
            List<Occupancy> wanted;
            lock (_gate)
            {
                wanted = _occupancies.Values.Where(o => !o.IsBot && o.Wanted && o.State == OccupancyState.Absent).ToList();
            }

            await Task.WhenAll(wanted.Select(async occupancy =>
            {
                try
                {
                    await EnsureJoinedAsync(occupancy, cancellationToken);
                }
                catch (JoinFailedException ex)
                {
                    _logger.LogWarning(XmppLog.JoinFailed, "Re-joining {Occupant} to {Room} failed: {Reason}", occupancy.OccupantJid, occupancy.Room.Key, ex.Message);
                }
            }));

            if (!cancellationToken.IsCancellationRequested && ReferenceEquals(_stream, stream) && Interlocked.Read(ref _connectionGeneration) == generation)
            {
                _ready = true;
                _logger.LogInformation(XmppLog.Ready, "XMPP network {Network} ready: {Rooms} rooms, {Puppets} puppets re-joined", _network.Id, Rooms.Count, wanted.Count);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The connection went away during setup; the next connection starts over.
        }
        catch (Exception ex)
        {
            _logger.LogError(XmppLog.JoinFailed, ex, "Setting up the rooms after connecting failed; reconnecting");
            await stream.SendStreamErrorAndCloseAsync("undefined-condition", "setup failed");
            await stream.DisposeAsync();
        }
    }

    private async Task PrepareRoomAsync(RoomState room, CancellationToken cancellationToken)
    {
        var after = room.LastStanzaId;
        var catchUp = after is not null && _options.MaxCatchUpMessages > 0 && room.ArchiveAvailable != false;
        if (catchUp)
        {
            await _inbound.Writer.WriteAsync(new CatchUpStart(room), cancellationToken);
        }

        try
        {
            var bot = GetOccupancy(_botJid, room, _options.BotNick, isBot: true);

            // Without an archive (known, or no archive position at all but a time we last heard the room), the join
            // itself replays what was said since then; the room's subject marks the end of the replay.
            var replay = !catchUp && _options.MaxCatchUpMessages > 0 && room.LastStamp is { } lastStamp && (after is null || room.ArchiveAvailable == false);
            lock (_gate)
            {
                bot.HistorySince = replay ? room.LastStamp : null;
            }

            room.ReplayingHistory = replay;
            while (true)
            {
                try
                {
                    await EnsureJoinedAsync(bot, cancellationToken);
                    break;
                }
                catch (JoinFailedException ex) when (ex.Permanent)
                {
                    _logger.LogError(XmppLog.JoinFailed, "The bridge cannot read {Room}: {Reason}", room.Key, ex.Message);
                    return;
                }
                catch (JoinFailedException)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _context.Time, cancellationToken);
                }
            }

            if (catchUp)
            {
                await CatchUpAsync(room, after!, cancellationToken);
            }
            else if (after is null && _options.MaxCatchUpMessages > 0 && room.ArchiveAvailable != false)
            {
                await EstablishPositionAsync(room, cancellationToken);
            }
        }
        finally
        {
            if (catchUp)
            {
                await _inbound.Writer.WriteAsync(new CatchUpDone(room), CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// First time in a room: take the archive's newest id as our position, so that a crash before the first message
    /// still leaves a point to catch up from (and to recognise our own messages after it).
    /// </summary>
    private async Task EstablishPositionAsync(RoomState room, CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new XmppStreamClosedException("not connected");
        var queryId = NextId("pos");
        _positionQueries[queryId] = room;
        var iq = new XElement(Ns.Component + "iq",
            new XAttribute("type", "set"),
            new XAttribute("from", _botJid.ToString()),
            new XAttribute("to", room.Key),
            new XElement(Ns.Mam + "query", new XAttribute("queryid", queryId),
                new XElement(Ns.Rsm + "set", new XElement(Ns.Rsm + "max", "1"), new XElement(Ns.Rsm + "before"))));
        try
        {
            var reply = await SendIqAsync(stream, iq, _options.JoinTimeout, cancellationToken);
            room.ArchiveAvailable = true;
            var last = (string?)reply.Element(Ns.Mam + "fin")?.Element(Ns.Rsm + "set")?.Element(Ns.Rsm + "last");
            if (last is not null)
            {
                // Through the worker, so it lands in order with what the room sends meanwhile.
                await _inbound.Writer.WriteAsync(new OwnReflection(room, last) { PositionOnly = true }, cancellationToken);
            }
        }
        catch (XmppIqErrorException ex)
        {
            if (ex.Condition is "feature-not-implemented" or "service-unavailable")
            {
                room.ArchiveAvailable = false;
            }

            _logger.LogWarning(XmppLog.CatchUpFailed, "{Room} has no usable archive ({Condition}): messages sent while the bridge is away cannot be caught up", room.Key, ex.Condition);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning(XmppLog.CatchUpFailed, "{Room} did not answer an archive query", room.Key);
        }
        finally
        {
            _positionQueries.TryRemove(queryId, out _);
        }
    }

    /// <summary>Fetches what the room archived after the last message we saw (XEP-0313), page by page.</summary>
    private async Task CatchUpAsync(RoomState room, string after, CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new XmppStreamClosedException("not connected");
        var fetched = 0;
        var cursor = after;
        while (fetched < _options.MaxCatchUpMessages)
        {
            var queryId = NextId("mam");
            _archiveQueries[queryId] = room;
            var iq = new XElement(Ns.Component + "iq",
                new XAttribute("type", "set"),
                new XAttribute("from", _botJid.ToString()),
                new XAttribute("to", room.Key),
                new XElement(Ns.Mam + "query", new XAttribute("queryid", queryId),
                    new XElement(Ns.DataForms + "x", new XAttribute("type", "submit"),
                        new XElement(Ns.DataForms + "field", new XAttribute("var", "FORM_TYPE"), new XAttribute("type", "hidden"),
                            new XElement(Ns.DataForms + "value", Ns.Mam.NamespaceName))),
                    new XElement(Ns.Rsm + "set",
                        new XElement(Ns.Rsm + "max", Math.Min(ArchivePageSize, _options.MaxCatchUpMessages - fetched).ToString(CultureInfo.InvariantCulture)),
                        new XElement(Ns.Rsm + "after", cursor))));
            XElement reply;
            try
            {
                reply = await SendIqAsync(stream, iq, _options.JoinTimeout * 3, cancellationToken);
            }
            catch (XmppIqErrorException ex)
            {
                if (ex.Condition is "feature-not-implemented" or "service-unavailable")
                {
                    room.ArchiveAvailable = false;
                }

                _logger.LogWarning(XmppLog.CatchUpFailed, "Catching up {Room} after {After} failed ({Condition}); messages sent while we were away may be missing",
                    room.Key, cursor, ex.Condition);
                return;
            }
            finally
            {
                _archiveQueries.TryRemove(queryId, out _);
            }

            room.ArchiveAvailable = true;
            var fin = reply.Element(Ns.Mam + "fin");
            var set = fin?.Element(Ns.Rsm + "set");
            var last = (string?)set?.Element(Ns.Rsm + "last");
            fetched += ArchivePageSize;
            if ((string?)fin?.Attribute("complete") == "true" || last is null)
            {
                break;
            }

            cursor = last;
        }

        _logger.LogInformation(XmppLog.CatchUp, "Caught up {Room} from the archive after {After}", room.Key, after);
    }

    // ---------------------------------------------------------------- receiving

    private async Task HandleMessageAsync(XElement message, CancellationToken cancellationToken)
    {
        var type = (string?)message.Attribute("type") ?? "normal";
        var id = (string?)message.Attribute("id");
        if (type == "error")
        {
            if (id is not null && _pendingSends.TryRemove(id, out var failed))
            {
                failed.TrySetResult(message);
            }

            return;
        }

        if (!Jid.TryParse((string?)message.Attribute("from"), out var from) || !Jid.TryParse((string?)message.Attribute("to"), out var to))
        {
            return;
        }

        RoomState? room;
        lock (_gate)
        {
            room = _roomsByJid.GetValueOrDefault(from.Value.BareString);
        }

        if (room is null)
        {
            _logger.LogDebug(XmppLog.Ignored, "Ignored a {Type} message from {From} (not a linked room)", type, from);
            return;
        }

        var toBot = to.Value.Local is null;
        if (message.Element(Ns.Mam + "result") is { } result)
        {
            if (_positionQueries.ContainsKey((string?)result.Attribute("queryid") ?? ""))
            {
                return; // the newest archived message, fetched only for its id
            }

            if (toBot && _archiveQueries.TryGetValue((string?)result.Attribute("queryid") ?? "", out var queried) && ReferenceEquals(queried, room))
            {
                await HandleArchivedAsync(room, result, cancellationToken);
            }

            return;
        }

        if (type != "groupchat")
        {
            return; // private messages to puppets are not bridged
        }

        // A send is confirmed by its reflection, whichever of our occupants' copies arrives first.
        if (id is not null && _pendingSends.TryRemove(id, out var pending))
        {
            pending.TrySetResult(message);
        }

        if (!toBot)
        {
            return; // every puppet gets its own copy: the room is read through the bot only
        }

        var item = Classify(room, message, live: true, archiveStanzaId: null, archiveStamp: null);
        if (item is not null)
        {
            await _inbound.Writer.WriteAsync(item, cancellationToken);
        }
    }

    private async Task HandleArchivedAsync(RoomState room, XElement result, CancellationToken cancellationToken)
    {
        var forwarded = result.Element(Ns.Forward + "forwarded");
        var inner = forwarded?.Elements().FirstOrDefault(e => e.Name.LocalName == "message" && Ns.IsStanzaNamespace(e.Name.Namespace));
        if (inner is null)
        {
            return;
        }

        var stamp = ParseStamp((string?)forwarded!.Element(Ns.Delay + "delay")?.Attribute("stamp"));
        var item = Classify(room, inner, live: false, archiveStanzaId: (string?)result.Attribute("id"), archiveStamp: stamp);
        if (item is not null)
        {
            await _inbound.Writer.WriteAsync(item, cancellationToken);
        }
    }

    /// <summary>Turns one room message into what the ingest worker needs, or null for anything not to bridge.</summary>
    private InboundItem? Classify(RoomState room, XElement message, bool live, string? archiveStanzaId, DateTimeOffset? archiveStamp)
    {
        if (message.Element(message.Name.Namespace + "subject") is not null && message.Element(message.Name.Namespace + "body") is null)
        {
            room.ReplayingHistory = false; // the subject follows the history a join replays
            return null;
        }

        if (!Jid.TryParse((string?)message.Attribute("from"), out var from) || from.Value.Resource is not { } nick)
        {
            return null; // from the room itself (status messages): nobody to bridge
        }

        var ns = message.Name.Namespace;
        var id = (string?)message.Attribute("id");
        var originId = (string?)message.Element(Ns.StanzaId + "origin-id")?.Attribute("id");
        var stanzaId = archiveStanzaId ?? message.Elements(Ns.StanzaId + "stanza-id")
            .FirstOrDefault(e => string.Equals((string?)e.Attribute("by"), room.Key, StringComparison.OrdinalIgnoreCase))?.Attribute("id")?.Value;

        var ownId = originId ?? id;
        if (IsOurNick(room, nick) || (ownId?.StartsWith(OwnIdPrefix, StringComparison.Ordinal) ?? false))
        {
            if (ownId is not null && stanzaId is not null)
            {
                _sentStanzaIds.Set(ownId, stanzaId);
                room.NativeToMessageId.Set(stanzaId, ownId);
                room.MessageIdToNative.Set(ownId, stanzaId);
            }

            if (!live && ownId is not null && _pendingSends.TryRemove(ownId, out var pending))
            {
                pending.TrySetResult(message);
            }

            return new OwnReflection(room, stanzaId);
        }

        var delay = message.Element(Ns.Delay + "delay");
        if (live && delay is not null && !room.ReplayingHistory)
        {
            // History replayed by the room: catch-up goes through the archive instead, deduplicated.
            return null;
        }

        var body = (string?)message.Element(ns + "body");
        var kind = BridgeEventKind.Message;
        string? target = null, reactionKey = null, replyTo = null;
        if ((string?)message.Element(Ns.Correct + "replace")?.Attribute("id") is { } replaced)
        {
            kind = BridgeEventKind.Edit;
            target = MapToNative(room, replaced);
        }
        else if ((string?)message.Element(Ns.Retract + "retract")?.Attribute("id") is { } retracted)
        {
            kind = BridgeEventKind.Delete;
            target = MapToNative(room, retracted);
        }
        else if (message.Elements(Ns.Fasten + "apply-to").FirstOrDefault(a => a.Element(Ns.RetractLegacy + "retract") is not null) is { } applyTo &&
                 (string?)applyTo.Attribute("id") is { } legacyRetracted)
        {
            kind = BridgeEventKind.Delete;
            target = MapToNative(room, legacyRetracted);
        }
        else if (message.Element(Ns.Reactions + "reactions") is { } reactions && (string?)reactions.Attribute("id") is { } reacted)
        {
            reactionKey = reactions.Elements(Ns.Reactions + "reaction").Select(r => r.Value).FirstOrDefault(v => v.Length > 0);
            if (reactionKey is null)
            {
                return null; // a reaction removal: not expressible as one BridgeEvent
            }

            kind = BridgeEventKind.Reaction;
            target = MapToNative(room, reacted);
        }

        var attachments = message.Elements(Ns.Oob + "x").Select(x => (string?)x.Element(Ns.Oob + "url")).Where(u => !string.IsNullOrEmpty(u))
            .Select(u => new Attachment { Name = Path.GetFileName(new Uri(u!, UriKind.RelativeOrAbsolute).IsAbsoluteUri ? new Uri(u!).AbsolutePath : u!), ContentType = "application/octet-stream", Url = u })
            .ToList();
        if (kind == BridgeEventKind.Message && string.IsNullOrEmpty(body) && attachments.Count == 0)
        {
            return null; // chat states, receipts and other payload-only messages
        }

        var text = body ?? "";
        if (message.Element(Ns.Reply + "reply") is { } reply && (string?)reply.Attribute("id") is { } repliedTo)
        {
            replyTo = MapToNative(room, repliedTo);
            text = StripFallback(message, text, Ns.Reply.NamespaceName);
        }

        if (kind is BridgeEventKind.Delete or BridgeEventKind.Reaction)
        {
            text = "";
        }

        var messageKind = MessageKind.Text;
        if (text.StartsWith("/me ", StringComparison.Ordinal))
        {
            messageKind = MessageKind.Emote;
            text = text[4..];
        }

        var labels = message.Elements(Ns.SecLabel + "securitylabel").Select(l => ((string?)l.Element(Ns.SecLabel + "displaymarking"))?.Trim())
            .Where(l => !string.IsNullOrEmpty(l)).Select(l => l!).ToList();

        var nativeId = stanzaId ?? id ?? $"{room.Key}/{nick}/{Guid.NewGuid():N}";
        if (id is not null)
        {
            room.MessageIdToNative.Set(id, nativeId);
            room.NativeToMessageId.Set(nativeId, id);
        }

        var occupantId = (string?)message.Element(Ns.OccupantId + "occupant-id")?.Attribute("id");
        OccupantInfo? known;
        lock (_gate)
        {
            known = room.Occupants.GetValueOrDefault(nick);
        }

        occupantId ??= known?.OccupantId;
        var userId = occupantId is not null ? $"occupant-id:{room.Key}:{occupantId}"
            : known?.RealJid is { } realJid ? realJid
            : $"{room.Key}/{nick}";

        var stamp = archiveStamp ?? ParseStamp((string?)delay?.Attribute("stamp")) ?? _context.Time.GetUtcNow();
        var bridgeEvent = new BridgeEvent
        {
            NetworkId = _network.Id,
            ChannelId = room.ChannelId,
            NativeId = nativeId,
            Kind = kind,
            MessageKind = messageKind,
            Sender = new PersonRef { NetworkId = _network.Id, UserId = userId, DisplayName = nick },
            Text = text,
            TargetNativeId = target,
            ReplyToNativeId = replyTo,
            ReactionKey = reactionKey,
            Timestamp = stamp,
            StructuredLabels = labels,
            Attachments = attachments,
        };
        return new InboundMessage(room, bridgeEvent, stanzaId, live);
    }

    private static string MapToNative(RoomState room, string id) => room.MessageIdToNative.TryGet(id, out var native) ? native : id;

    /// <summary>Removes the fallback part of a body (XEP-0428), e.g. the quoted text a reply carries for old clients.</summary>
    private static string StripFallback(XElement message, string text, string forNamespace)
    {
        var range = message.Elements(Ns.Fallback + "fallback").Where(f => (string?)f.Attribute("for") == forNamespace)
            .Elements(Ns.Fallback + "body").FirstOrDefault();
        if (range is null ||
            !int.TryParse((string?)range.Attribute("start"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var start) ||
            !int.TryParse((string?)range.Attribute("end"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var end))
        {
            return text;
        }

        // Offsets count code points; convert to UTF-16 indexes.
        var runes = text.EnumerateRunes().ToList();
        if (start < 0 || end > runes.Count || start >= end)
        {
            return text;
        }

        return string.Concat(runes.Take(start).Concat(runes.Skip(end)).Select(r => r.ToString()));
    }

    private static DateTimeOffset? ParseStamp(string? stamp) =>
        DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value : null;

    // ---------------------------------------------------------------- ingest worker and positions

    private async Task IngestWorkerAsync(CancellationToken stop)
    {
        var held = new Dictionary<RoomState, List<InboundMessage>>();
        try
        {
            await foreach (var item in _inbound.Reader.ReadAllAsync(CancellationToken.None))
            {
                switch (item)
                {
                    case CatchUpStart start:
                        held.TryAdd(start.Room, []);
                        break;
                    case CatchUpDone done:
                        if (held.Remove(done.Room, out var list))
                        {
                            foreach (var message in list)
                            {
                                await IngestOneAsync(message, stop);
                            }
                        }

                        break;
                    case InboundMessage { Live: true } live when held.TryGetValue(live.Room, out var buffer):
                        buffer.Add(live);
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

    private async Task IngestOneAsync(InboundMessage message, CancellationToken stop)
    {
        var room = message.Room;
        if (room.Seen.Contains(message.Event.NativeId))
        {
            return; // replayed by a catch-up (archive page or join history) after we already had it
        }

        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                await _context.Sink.IngestAsync(message.Event, stop);
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
            {
                // The core could not make it durable (store busy, disk): keep it and try again, in order.
                _logger.LogError(XmppLog.IngestFailed, ex, "Could not hand {NativeId} from {Room} to the core; retrying in {Delay}", message.Event.NativeId, room.Key, delay);
                await Task.Delay(delay, _context.Time, stop);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 10_000));
            }
        }

        room.Seen.Set(message.Event.NativeId, true);
        if (message.StanzaId is not null)
        {
            room.LastStanzaId = message.StanzaId;
        }

        if (room.LastStamp is null || message.Event.Timestamp > room.LastStamp)
        {
            room.LastStamp = message.Event.Timestamp;
        }
    }

    private async Task PersistLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _context.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                await PersistPositionsAsync(final: false, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>
    /// Saves each room's catch-up position. It trails the live position by one tick on purpose: a message we sent
    /// whose delivery the core has not recorded yet stays inside the next catch-up window, where it is recognised
    /// instead of being sent twice.
    /// </summary>
    private async Task PersistPositionsAsync(bool final, CancellationToken cancellationToken)
    {
        foreach (var room in Rooms)
        {
            if (room.LastStamp is { } stamp && stamp != room.PersistedStamp)
            {
                try
                {
                    await _context.State.SetAsync(_stateScope, LastStampKey(room), stamp.ToString("O", CultureInfo.InvariantCulture), cancellationToken);
                    room.PersistedStamp = stamp;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.LogWarning(XmppLog.StateFailed, ex, "Could not save the last message time of {Room}", room.Key);
                }
            }

            var value = final || room.PersistedStanzaId is null ? room.LastStanzaId : room.PendingPersist;
            room.PendingPersist = room.LastStanzaId;
            if (value is null || value == room.PersistedStanzaId)
            {
                continue;
            }

            try
            {
                await _context.State.SetAsync(_stateScope, LastIdKey(room), value, cancellationToken);
                room.PersistedStanzaId = value;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogWarning(XmppLog.StateFailed, ex, "Could not save the catch-up position of {Room}", room.Key);
            }
        }
    }
}
