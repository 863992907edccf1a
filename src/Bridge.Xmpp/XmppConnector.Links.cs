using System.Xml.Linq;
using Bridge.Core.Connectors;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Protocol;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

/// <summary>Links changed at run time: rooms joined and left without reconnecting; the puppets, for the admin API.</summary>
internal sealed partial class XmppConnector
{
    public bool JoinsChannelsLive => true;

    public string? CheckChannel(string channelId) =>
        TryResolveRoom(channelId, out _) ? null : _options.MucService is null
            ? "not a room JID (room@conference.example.org)"
            : $"not a room JID or a room name of {_options.MucService}";

    public IReadOnlyList<PuppetInfo> Puppets
    {
        get
        {
            lock (_gate)
            {
                return [.. _occupancies.Values.Where(o => !o.IsBot)
                    .GroupBy(o => o.OccupantJid.BareString, StringComparer.OrdinalIgnoreCase)
                    .Select(g => new PuppetInfo(g.Key, g.First().Nick ?? g.First().BaseNick,
                        [.. g.Where(o => o.State == OccupancyState.Joined).Select(o => o.Room.ChannelId).Order(StringComparer.Ordinal)]))
                    .OrderBy(p => p.LocalId, StringComparer.Ordinal)];
            }
        }
    }

    public async Task ChannelsChangedAsync(IReadOnlyCollection<string> added, IReadOnlyCollection<string> removed, CancellationToken cancellationToken)
    {
        foreach (var channel in removed)
        {
            await LeaveRoomAsync(channel, cancellationToken);
        }

        foreach (var channel in added)
        {
            if (!TryResolveRoom(channel, out var jid))
            {
                _logger.LogError(XmppLog.UnknownRoom, "Channel '{Channel}' of network {Network} is not a room JID; it is not bridged", channel, _network.Id);
                continue;
            }

            RoomState room;
            lock (_gate)
            {
                if (_roomsByChannel.ContainsKey(channel))
                {
                    continue;
                }

                room = new RoomState(channel, jid, _options.RoomIdCacheSize);
                _roomsByJid[room.Key] = room;
                _roomsByChannel[channel] = room;
            }

            _logger.LogInformation(XmppLog.RoomAdded, "Room {Room} linked at run time: joining", room.Key);
            if (_stream is not null && _lifetime is { } lifetime)
            {
                // Joined in the background like at connect (a room that refuses is logged and retried by the next
                // connection's setup); the request that linked it does not wait for the room.
                var token = lifetime.Token;
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await await JoinRoomAsync(room, token);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        _logger.LogWarning(XmppLog.JoinFailed, "Joining {Room} failed: {Reason}; retried on the next connection", room.Key, ex.Message);
                    }
                }, CancellationToken.None);
            }
        }
    }

    /// <summary>The bot and every puppet leave the room (unavailable presence), and the room is forgotten.</summary>
    private async Task LeaveRoomAsync(string channel, CancellationToken cancellationToken)
    {
        RoomState? room;
        List<Occupancy> leaving;
        lock (_gate)
        {
            if (!_roomsByChannel.Remove(channel, out room))
            {
                return;
            }

            _roomsByJid.Remove(room.Key);
            leaving = [.. _occupancies.Values.Where(o => o.Room == room).OrderBy(o => o.IsBot)];
            foreach (var o in leaving)
            {
                _occupancies.Remove((o.OccupantJid.BareString, room.Key));
            }
        }

        _logger.LogInformation(XmppLog.RoomRemoved, "Room {Room} unlinked at run time: {Count} occupant(s) leave", room.Key, leaving.Count);
        var stream = _stream;
        if (stream is null)
        {
            return;
        }

        foreach (var occupancy in leaving.Where(o => o.State == OccupancyState.Joined && o.Nick is not null))
        {
            try
            {
                await stream.SendAsync(new XElement(Ns.Component + "presence",
                    new XAttribute("type", "unavailable"),
                    new XAttribute("from", occupancy.OccupantJid.ToString()),
                    new XAttribute("to", $"{room.Key}/{occupancy.Nick}")), cancellationToken);
            }
            catch (Exception ex) when (ex is Bridge.Xmpp.Stream.XmppStreamClosedException or Bridge.Xmpp.Stream.StanzaRejectedException or OperationCanceledException or IOException)
            {
                _logger.LogWarning(XmppLog.LeftRoom, "Could not leave {Room} for {Occupant}: {Reason}", room.Key, occupancy.OccupantJid, ex.Message);
                return;
            }
        }
    }
}
