using System.Globalization;
using System.Xml.Linq;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

/// <summary>After (re)connecting: the bot joins every room, catches up on what it missed, then the puppets re-join.</summary>
internal sealed partial class XmppConnector
{

    private async Task SetupAfterConnectAsync(ComponentStream stream, long generation, CancellationToken cancellationToken)
    {
        try
        {
            // The bot joins every room; each room's catch-up then runs in the background: the connector is ready once
            // the rooms are joined and the puppets are back, and a room's catch-up holds only that room (its live
            // messages wait behind its archive, nothing is sent into it meanwhile), never the others. Every join,
            // unlock and archive query goes through the set-up pacer: all rooms are started here, a few are in
            // flight on the server at once, and the rest wait in the pacer, where no timeout runs.
            var catchUps = new List<Task>();
            var catchUpsGate = new Lock();
            await Task.WhenAll(Rooms.Select(async room =>
            {
                var catchUp = await JoinRoomAsync(room, cancellationToken);
                lock (catchUpsGate)
                {
                    catchUps.Add(catchUp);
                }
            }));

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
                    await _setupPacer.RunAsync(() => EnsureJoinedAsync(occupancy, cancellationToken), cancellationToken);
                }
                catch (JoinFailedException ex)
                {
                    _logger.LogWarning(XmppLog.JoinFailed, "Re-joining {Occupant} to {Room} failed: {Reason}", occupancy.OccupantJid, occupancy.Room.Key, ex.Message);
                }
            }));

            if (!cancellationToken.IsCancellationRequested && ReferenceEquals(_stream, stream) && Interlocked.Read(ref _connectionGeneration) == generation)
            {
                _ready = true;
                _context.WakeDeliveries(_network.Id);
                _logger.LogInformation(XmppLog.Ready, "XMPP network {Network} ready: {Rooms} rooms, {Puppets} puppets re-joined, {CatchingUp} rooms still catching up",
                    _network.Id, Rooms.Count, wanted.Count, Rooms.Count(r => r.CatchingUp));
            }

            await Task.WhenAll(catchUps);
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

    /// <summary>
    /// Joins the bot to <paramref name="room"/>; returns the room's catch-up (or first archive position), started but
    /// not awaited. From here until that task ends the room is <see cref="RoomState.CatchingUp"/> when it has a gap to fill.
    /// </summary>
    private async Task<Task> JoinRoomAsync(RoomState room, CancellationToken cancellationToken)
    {
        var after = room.LastStanzaId;
        var catchUp = after is not null && _options.MaxCatchUpMessages > 0 && room.ArchiveAvailable != false;
        if (catchUp)
        {
            room.BeginCatchUp();
            await _inbound.Writer.WriteAsync(new CatchUpStart(room), cancellationToken);
        }

        var started = false;
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
                    await _setupPacer.RunAsync(() => EnsureJoinedAsync(bot, cancellationToken), cancellationToken);
                    break;
                }
                catch (JoinFailedException ex) when (ex.Permanent)
                {
                    _logger.LogError(XmppLog.JoinFailed, "The bridge cannot read {Room}: {Reason}", room.Key, ex.Message);
                    return Task.CompletedTask;
                }
                catch (JoinFailedException)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _context.Time, cancellationToken);
                }
            }

            if (catchUp)
            {
                started = true;
                return CatchUpRoomAsync(room, after!, cancellationToken);
            }

            return after is null && _options.MaxCatchUpMessages > 0 && room.ArchiveAvailable != false
                ? EstablishPositionAsync(room, cancellationToken)
                : Task.CompletedTask;
        }
        finally
        {
            if (catchUp && !started)
            {
                await EndCatchUpAsync(room);
            }
        }
    }

    private async Task CatchUpRoomAsync(RoomState room, string after, CancellationToken cancellationToken)
    {
        try
        {
            // Our own sends just before the saved position are learnt first: a clean stop saves a position past the
            // message whose delivery was cut short, so without this the "already in the room" guard misses it.
            var before = await LearnRecentOwnAsync(room, after, cancellationToken);
            if (before is not null)
            {
                // Catch-up starts one message earlier so the message at the position itself is read again; it is
                // marked seen so only its id is learnt, never bridged twice.
                room.Seen.Set(after, true);
            }

            await CatchUpAsync(room, before ?? after, cancellationToken);
        }
        finally
        {
            await EndCatchUpAsync(room);
        }
    }

    private async Task EndCatchUpAsync(RoomState room)
    {
        try
        {
            await _inbound.Writer.WriteAsync(new CatchUpDone(room), CancellationToken.None);
        }
        finally
        {
            room.EndCatchUp();
            if (!room.CatchingUp)
            {
                _context.WakeDeliveries(_network.Id);
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
            var reply = await _setupPacer.RunAsync(() => SendIqAsync(stream, iq, _options.JoinTimeout, cancellationToken), cancellationToken);
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

    /// <summary>
    /// Reads the archive page ending just before <paramref name="position"/> and remembers our own messages in it
    /// (by origin-id); returns the id of the message just before the position, or null if none or no archive answer.
    /// </summary>
    private async Task<string?> LearnRecentOwnAsync(RoomState room, string position, CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new XmppStreamClosedException("not connected");
        var queryId = NextId("own");
        _recentOwnQueries[queryId] = room;
        var iq = new XElement(Ns.Component + "iq",
            new XAttribute("type", "set"),
            new XAttribute("from", _botJid.ToString()),
            new XAttribute("to", room.Key),
            new XElement(Ns.Mam + "query", new XAttribute("queryid", queryId),
                new XElement(Ns.Rsm + "set",
                    new XElement(Ns.Rsm + "max", RecentOwnPageSize.ToString(CultureInfo.InvariantCulture)),
                    new XElement(Ns.Rsm + "before", position))));
        try
        {
            var reply = await _setupPacer.RunAsync(() => SendIqAsync(stream, iq, _options.JoinTimeout * 3, cancellationToken), cancellationToken);
            return (string?)reply.Element(Ns.Mam + "fin")?.Element(Ns.Rsm + "set")?.Element(Ns.Rsm + "last");
        }
        catch (XmppIqErrorException ex)
        {
            _logger.LogWarning(XmppLog.CatchUpFailed, "Reading {Room}'s archive before {Position} failed ({Condition}); a message cut short by the last stop may be sent again",
                room.Key, position, ex.Condition);
            return null;
        }
        catch (TimeoutException)
        {
            _logger.LogWarning(XmppLog.CatchUpFailed, "{Room} did not answer an archive query", room.Key);
            return null;
        }
        finally
        {
            _recentOwnQueries.TryRemove(queryId, out _);
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
                reply = await _setupPacer.RunAsync(() => SendIqAsync(stream, iq, _options.JoinTimeout * 3, cancellationToken), cancellationToken);
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
}
