using System.Xml.Linq;
using Bridge.Core.Model;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

internal sealed partial class XmppConnector
{
    private const int MaxNickAttempts = 6;
    private static readonly TimeSpan KickCooldown = TimeSpan.FromSeconds(30);

    /// <summary>Why a join did not (yet) succeed. <see cref="Permanent"/>: the room refused us; do not retry in a loop.</summary>
    internal sealed class JoinFailedException(string message, bool permanent) : Exception(message)
    {
        public bool Permanent { get; } = permanent;
    }

    private Occupancy GetOccupancy(Jid occupant, RoomState room, string baseNick, bool isBot)
    {
        lock (_gate)
        {
            var key = (occupant.BareString, room.Key);
            if (!_occupancies.TryGetValue(key, out var occupancy))
            {
                occupancy = new Occupancy(occupant.Bare, room, baseNick, isBot);
                _occupancies[key] = occupancy;
            }
            else if (!string.Equals(occupancy.BaseNick, baseNick, StringComparison.Ordinal))
            {
                occupancy.BaseNick = baseNick; // display name changed: the next join, or a nick change, uses it
            }

            return occupancy;
        }
    }

    private Occupancy? FindOccupancy(Jid occupant, Jid room)
    {
        lock (_gate)
        {
            return _occupancies.GetValueOrDefault((occupant.BareString, room.BareString));
        }
    }

    /// <summary>The confirmed nick of a person's puppet in a linked channel, or null when it is not in the room now.</summary>
    internal string? JoinedNick(PersonRef person, string channelId)
    {
        lock (_gate)
        {
            if (!_roomsByChannel.TryGetValue(channelId, out var room) ||
                !_occupancies.TryGetValue((PuppetJid(person).BareString, room.Key), out var occupancy))
            {
                return null;
            }

            return occupancy.State == OccupancyState.Joined ? occupancy.Nick : null;
        }
    }

    /// <summary>Makes sure the occupant is in its room; concurrent callers share one join. Returns the confirmed nick.</summary>
    private async Task<string> EnsureJoinedAsync(Occupancy occupancy, CancellationToken cancellationToken)
    {
        Task join;
        lock (_gate)
        {
            occupancy.Wanted = true;
            switch (occupancy.State)
            {
                case OccupancyState.Joined:
                    return occupancy.Nick!;
                case OccupancyState.Refused:
                    throw new JoinFailedException($"{occupancy.Room.Key} refused {occupancy.OccupantJid}: {occupancy.RefusedReason}", permanent: true);
            }

            if (occupancy.RetryNotBefore > _context.Time.GetUtcNow())
            {
                throw new JoinFailedException($"{occupancy.OccupantJid} was removed from {occupancy.Room.Key}; not re-joining before {occupancy.RetryNotBefore:O}", permanent: false);
            }

            if (occupancy.JoinTask is null || occupancy.JoinTask.IsCompleted)
            {
                var stream = _stream ?? throw new JoinFailedException("not connected", permanent: false);
                occupancy.JoinTask = Task.Run(() => JoinAsync(stream, occupancy, CancellationToken.None), CancellationToken.None);
            }

            join = occupancy.JoinTask;
        }

        await join.WaitAsync(cancellationToken);
        lock (_gate)
        {
            return occupancy.State switch
            {
                OccupancyState.Joined => occupancy.Nick!,
                OccupancyState.Refused => throw new JoinFailedException($"{occupancy.Room.Key} refused {occupancy.OccupantJid}: {occupancy.RefusedReason}", permanent: true),
                _ => throw new JoinFailedException($"{occupancy.OccupantJid} could not join {occupancy.Room.Key} (yet)", permanent: false),
            };
        }
    }

    private async Task JoinAsync(ComponentStream stream, Occupancy occupancy, CancellationToken cancellationToken)
    {
        var room = occupancy.Room;
        for (var attempt = 0; attempt < MaxNickAttempts; attempt++)
        {
            var nick = attempt == 0 ? occupancy.BaseNick : $"{occupancy.BaseNick} ({attempt + 1})";
            var answer = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                occupancy.TryingNick = nick;
                occupancy.Pending = answer;
            }

            // No history on join: catch-up after an outage is done deliberately through the archive, deduplicated.
            // Only the bot in a room without an archive asks for the history since the last message it saw.
            // The instant is rounded up to the next millisecond: servers stamp with microseconds, and a truncated
            // 'since' would replay the last message we already have.
            var history = occupancy.HistorySince is { } since
                ? new XElement(Ns.Muc + "history", new XAttribute("since", new DateTime((since.UtcTicks / TimeSpan.TicksPerMillisecond + 1) * TimeSpan.TicksPerMillisecond, DateTimeKind.Utc)
                    .ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture)))
                : new XElement(Ns.Muc + "history", new XAttribute("maxstanzas", "0"));
            var presence = new XElement(Ns.Component + "presence",
                new XAttribute("from", occupancy.OccupantJid.ToString()),
                new XAttribute("to", $"{room.Key}/{nick}"),
                new XElement(Ns.Muc + "x", history),
                PhotoUpdateFor(occupancy));
            XElement reply;
            try
            {
                await stream.SendAsync(presence, cancellationToken);
                reply = await answer.Task.WaitAsync(_options.JoinTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                _logger.LogWarning(XmppLog.JoinFailed, "{Occupant} got no answer joining {Room} as '{Nick}' within {Timeout}", occupancy.OccupantJid, room.Key, nick, _options.JoinTimeout);
                return;
            }
            catch (Exception ex) when (ex is XmppStreamClosedException or StanzaRejectedException)
            {
                _logger.LogWarning(XmppLog.JoinFailed, "{Occupant} could not join {Room}: {Reason}", occupancy.OccupantJid, room.Key, ex.Message);
                return;
            }
            finally
            {
                lock (_gate)
                {
                    if (occupancy.Pending == answer)
                    {
                        occupancy.Pending = null;
                    }
                }
            }

            if ((string?)reply.Attribute("type") == "error")
            {
                var condition = StanzaErrorCondition(reply);
                if (condition == "conflict")
                {
                    _logger.LogInformation(XmppLog.NickConflict, "Nick '{Nick}' is taken in {Room}; {Occupant} tries another", nick, room.Key, occupancy.OccupantJid);
                    continue;
                }

                // 403 banned, 407 members only, 405 creation not allowed, 401 password: the room said no; do not loop.
                // 503 (room full) and friends are retried on a later delivery.
                var permanent = condition is "forbidden" or "registration-required" or "not-allowed" or "not-authorized" or "not-acceptable" or "jid-malformed";
                lock (_gate)
                {
                    if (permanent)
                    {
                        occupancy.State = OccupancyState.Refused;
                        occupancy.RefusedReason = condition;
                    }
                }

                _logger.LogWarning(XmppLog.JoinFailed, "{Room} refused {Occupant} as '{Nick}': {Condition}{Permanence}", room.Key, occupancy.OccupantJid, nick, condition,
                    permanent ? " (not retried)" : "");
                return;
            }

            var codes = StatusCodes(reply);
            var confirmedNick = Jid.TryParse((string?)reply.Attribute("from"), out var fromJid) && fromJid.Value.Resource is { } r ? r : nick;
            if (codes.Contains("201"))
            {
                if (!await ConfigureInstantRoomAsync(stream, occupancy, cancellationToken))
                {
                    return;
                }
            }

            lock (_gate)
            {
                if (!ReferenceEquals(_stream, stream))
                {
                    return; // the connection this join was made on is gone: the presence died with it
                }

                occupancy.State = OccupancyState.Joined;
                occupancy.Nick = confirmedNick;
                occupancy.TryingNick = null;
            }

            _logger.LogInformation(XmppLog.Joined, "{Occupant} joined {Room} as '{Nick}'", occupancy.OccupantJid, room.Key, confirmedNick);
            return;
        }

        _logger.LogWarning(XmppLog.JoinFailed, "{Occupant} found no free nick in {Room} after {Attempts} tries", occupancy.OccupantJid, room.Key, MaxNickAttempts);
    }

    /// <summary>
    /// The person's display name changed while their puppet is in the room: change the nick (XEP-0045 §7.6), trying
    /// suffixes on conflict. A refused change keeps the old nick and is not retried for the same name.
    /// </summary>
    private async Task FollowDisplayNameAsync(Occupancy occupancy, CancellationToken cancellationToken)
    {
        string baseNick;
        lock (_gate)
        {
            baseNick = occupancy.BaseNick;
            if (occupancy.State != OccupancyState.Joined || occupancy.Nick is null || NickMatchesBase(occupancy.Nick, baseNick) ||
                string.Equals(occupancy.NickChangeGivenUpFor, baseNick, StringComparison.Ordinal))
            {
                return;
            }
        }

        var stream = _stream ?? throw new XmppStreamClosedException("not connected");
        for (var attempt = 0; attempt < MaxNickAttempts; attempt++)
        {
            var nick = attempt == 0 ? baseNick : $"{baseNick} ({attempt + 1})";
            var answer = new TaskCompletionSource<XElement>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                occupancy.TryingNick = nick;
                occupancy.Pending = answer;
            }

            XElement reply;
            try
            {
                // A nick change is a plain presence to the new occupant JID, without the MUC join element.
                await stream.SendAsync(new XElement(Ns.Component + "presence",
                    new XAttribute("from", occupancy.OccupantJid.ToString()),
                    new XAttribute("to", $"{occupancy.Room.Key}/{nick}"),
                    PhotoUpdateFor(occupancy)), cancellationToken);
                reply = await answer.Task.WaitAsync(_options.JoinTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                break;
            }
            finally
            {
                lock (_gate)
                {
                    if (occupancy.Pending == answer)
                    {
                        occupancy.Pending = null;
                    }

                    occupancy.TryingNick = null;
                }
            }

            if ((string?)reply.Attribute("type") == "error")
            {
                if (StanzaErrorCondition(reply) == "conflict")
                {
                    continue;
                }

                break;
            }

            var confirmed = Jid.TryParse((string?)reply.Attribute("from"), out var fromJid) && fromJid.Value.Resource is { } r ? r : nick;
            lock (_gate)
            {
                _logger.LogInformation(XmppLog.Joined, "{Occupant} is now '{Nick}' in {Room} (was '{Old}')", occupancy.OccupantJid, confirmed, occupancy.Room.Key, occupancy.Nick);
                occupancy.Nick = confirmed;
            }

            return;
        }

        lock (_gate)
        {
            occupancy.NickChangeGivenUpFor = baseNick;
        }

        _logger.LogWarning(XmppLog.NickConflict, "{Occupant} keeps '{Nick}' in {Room}: changing it to '{Wanted}' was refused", occupancy.OccupantJid, occupancy.Nick, occupancy.Room.Key, baseNick);
    }

    private static bool NickMatchesBase(string nick, string baseNick) =>
        string.Equals(nick, baseNick, StringComparison.Ordinal) ||
        (nick.StartsWith(baseNick + " (", StringComparison.Ordinal) && nick.EndsWith(')'));

    /// <summary>We created the room and it is locked until configured: accept the defaults (XEP-0045 §10.1.2, instant room).</summary>
    private async Task<bool> ConfigureInstantRoomAsync(ComponentStream stream, Occupancy occupancy, CancellationToken cancellationToken)
    {
        var iq = new XElement(Ns.Component + "iq",
            new XAttribute("type", "set"),
            new XAttribute("from", occupancy.OccupantJid.ToString()),
            new XAttribute("to", occupancy.Room.Key),
            new XElement(Ns.MucOwner + "query", new XElement(Ns.DataForms + "x", new XAttribute("type", "submit"))));
        try
        {
            await SendIqAsync(stream, iq, _options.JoinTimeout, cancellationToken);
            _logger.LogInformation(XmppLog.RoomConfigured, "Created {Room} and unlocked it as an instant room", occupancy.Room.Key);
            return true;
        }
        catch (Exception ex) when (ex is XmppIqErrorException or TimeoutException or XmppStreamClosedException)
        {
            _logger.LogWarning(XmppLog.JoinFailed, "Could not unlock the new room {Room}: {Reason}", occupancy.Room.Key, ex.Message);
            return false;
        }
    }

    private static HashSet<string> StatusCodes(XElement presence) =>
        presence.Elements(Ns.MucUser + "x").Elements(Ns.MucUser + "status")
            .Select(s => (string?)s.Attribute("code") ?? "").ToHashSet(StringComparer.Ordinal);

    private void HandlePresence(XElement presence)
    {
        if (!Jid.TryParse((string?)presence.Attribute("from"), out var from) || !Jid.TryParse((string?)presence.Attribute("to"), out var to))
        {
            return;
        }

        RoomState? room;
        lock (_gate)
        {
            room = _roomsByJid.GetValueOrDefault(from.Value.BareString);
        }

        if (room is null || from.Value.Resource is not { } nick)
        {
            return;
        }

        var type = (string?)presence.Attribute("type");
        var occupancy = FindOccupancy(to.Value, from.Value);
        var isBotCopy = to.Value.Local is null;
        if (isBotCopy && type != "error")
        {
            TrackOccupant(room, nick, presence, type == "unavailable");
        }

        if (occupancy is null)
        {
            return;
        }

        var codes = StatusCodes(presence);
        lock (_gate)
        {
            if (type == "error")
            {
                if (occupancy.Pending is { } pending && string.Equals(occupancy.TryingNick, nick, StringComparison.Ordinal))
                {
                    pending.TrySetResult(presence);
                }

                return;
            }

            if (!codes.Contains("110"))
            {
                return;
            }

            if (type != "unavailable")
            {
                // Our own presence says how anonymous the room is: 100 means everyone sees real JIDs.
                room.RealJidsPublic = codes.Contains("100");
            }

            if (type == "unavailable")
            {
                if (occupancy.State == OccupancyState.Joined && string.Equals(occupancy.Nick, nick, StringComparison.Ordinal) && !codes.Contains("303"))
                {
                    occupancy.State = codes.Contains("301") ? OccupancyState.Refused : OccupancyState.Absent;
                    occupancy.RefusedReason = codes.Contains("301") ? "banned" : null;
                    if (codes.Contains("307"))
                    {
                        occupancy.RetryNotBefore = _context.Time.GetUtcNow() + KickCooldown;
                    }

                    _logger.LogWarning(XmppLog.LeftRoom, "{Occupant} was removed from {Room} (status {Codes})", occupancy.OccupantJid, room.Key, string.Join(",", codes));
                }

                return;
            }

            if (occupancy.Pending is { } joinAnswer)
            {
                joinAnswer.TrySetResult(presence);
            }
        }
    }

    private void TrackOccupant(RoomState room, string nick, XElement presence, bool unavailable)
    {
        var item = presence.Elements(Ns.MucUser + "x").Elements(Ns.MucUser + "item").FirstOrDefault();
        var realJid = Jid.TryParse((string?)item?.Attribute("jid"), out var jid) ? jid.Value.BareString : null;
        var occupantId = (string?)presence.Element(Ns.OccupantId + "occupant-id")?.Attribute("id");
        TrackPhoto(room, nick, presence, unavailable);
        lock (_gate)
        {
            if (unavailable)
            {
                room.Occupants.Remove(nick);
            }
            else
            {
                room.Occupants[nick] = new OccupantInfo(realJid, occupantId);
                if (!IsOneOfOurs(room, nick, realJid))
                {
                    room.RealNickSkeletons.Add(NickSkeleton.Of(nick));
                }
            }
        }
    }

    /// <summary>Whether an occupant is our bot or one of our puppets (joined, or with its join or nick change in flight). Under the lock.</summary>
    private bool IsOneOfOurs(RoomState room, string nick, string? realJid)
    {
        if (realJid is not null && Jid.TryParse(realJid, out var jid) && string.Equals(jid.Value.Domain, _botJid.Domain, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var occupancy in _occupancies.Values)
        {
            if (ReferenceEquals(occupancy.Room, room) &&
                (string.Equals(occupancy.Nick, nick, StringComparison.Ordinal) || string.Equals(occupancy.TryingNick, nick, StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether a nick is currently held in the room by our bot or one of our puppets (their messages are our
    /// reflections). Only confirmed, present occupants count: a nick we are still trying may belong to a real person
    /// (the 409 is on its way), and one we left may have been taken since.
    /// </summary>
    private bool IsOurNick(RoomState room, string nick)
    {
        lock (_gate)
        {
            foreach (var occupancy in _occupancies.Values)
            {
                if (ReferenceEquals(occupancy.Room, room) && occupancy.State == OccupancyState.Joined &&
                    string.Equals(occupancy.Nick, nick, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Unavailable presence for every puppet and the bot in every room, so no ghost occupants stay behind.</summary>
    private async Task LeaveAllRoomsAsync(ComponentStream stream, CancellationToken cancellationToken)
    {
        List<Occupancy> joined;
        lock (_gate)
        {
            joined = _occupancies.Values.Where(o => o.State == OccupancyState.Joined).OrderBy(o => o.IsBot).ToList();
        }

        foreach (var occupancy in joined)
        {
            try
            {
                string? nick;
                lock (_gate)
                {
                    // Before sending: the room's answer (our own unavailable presence, status 110) can be read before
                    // SendAsync returns, and must not look like being removed from the room.
                    occupancy.State = OccupancyState.Absent;
                    nick = occupancy.Nick;
                }

                await stream.SendAsync(new XElement(Ns.Component + "presence",
                    new XAttribute("type", "unavailable"),
                    new XAttribute("from", occupancy.OccupantJid.ToString()),
                    new XAttribute("to", $"{occupancy.Room.Key}/{nick}")), cancellationToken);
            }
            catch (Exception ex) when (ex is XmppStreamClosedException or StanzaRejectedException or OperationCanceledException)
            {
                _logger.LogWarning(XmppLog.LeftRoom, "Could not leave {Room} for {Occupant}: {Reason}", occupancy.Room.Key, occupancy.OccupantJid, ex.Message);
                return;
            }
        }
    }

    /// <summary>
    /// XEP-0410 self-ping of the bot in every room it is in. No answer at all: the connection is dead though the socket
    /// looks open, so it is dropped (and re-established). "Not an occupant": the room lost the bot; it re-joins.
    /// </summary>
    private async Task KeepAliveLoopAsync(ComponentStream stream, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(_options.KeepAliveInterval, _context.Time, cancellationToken);
                List<Occupancy> bots;
                lock (_gate)
                {
                    bots = _occupancies.Values.Where(o => o.IsBot && o.State == OccupancyState.Joined).ToList();
                }

                foreach (var bot in bots)
                {
                    var ping = new XElement(Ns.Component + "iq",
                        new XAttribute("type", "get"),
                        new XAttribute("from", bot.OccupantJid.ToString()),
                        new XAttribute("to", $"{bot.Room.Key}/{bot.Nick}"),
                        new XElement(Ns.Ping + "ping"));
                    try
                    {
                        await SendIqAsync(stream, ping, _options.JoinTimeout, cancellationToken);
                    }
                    catch (XmppIqErrorException ex) when (ex.Condition is "not-acceptable" or "item-not-found" or "not-allowed")
                    {
                        _logger.LogWarning(XmppLog.LeftRoom, "The bot is no longer in {Room} ({Condition}); re-joining", bot.Room.Key, ex.Condition);
                        lock (_gate)
                        {
                            if (bot.State == OccupancyState.Joined)
                            {
                                bot.State = OccupancyState.Absent;
                            }
                        }

                        _ = EnsureJoinedQuietlyAsync(bot, cancellationToken);
                    }
                    catch (XmppIqErrorException)
                    {
                        // Any other answer still proves the room and the connection are alive.
                    }
                    catch (TimeoutException)
                    {
                        _logger.LogWarning(XmppLog.Disconnected, "No answer to a self-ping in {Room} within {Timeout}; replacing the connection", bot.Room.Key, _options.JoinTimeout);
                        await stream.SendStreamErrorAndCloseAsync("connection-timeout", "no answer to a ping");
                        await stream.DisposeAsync();
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // connection gone
        }
        catch (XmppStreamClosedException)
        {
            // connection gone
        }
    }

    private async Task EnsureJoinedQuietlyAsync(Occupancy occupancy, CancellationToken cancellationToken)
    {
        try
        {
            await EnsureJoinedAsync(occupancy, cancellationToken);
        }
        catch (Exception ex) when (ex is JoinFailedException or OperationCanceledException)
        {
            _logger.LogWarning(XmppLog.JoinFailed, "Re-joining {Room} failed: {Reason}", occupancy.Room.Key, ex.Message);
        }
    }
}
