using System.Net;
using Bridge.Core.Connectors;
using Bridge.Matrix.Client;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>Links changed at run time: the bot joins new rooms, the bot and puppets leave removed ones; the puppets, for the admin API.</summary>
public sealed partial class MatrixConnector
{
    public bool JoinsChannelsLive => true;

    public string? CheckChannel(string channelId) =>
        channelId.Length > 1 && channelId[0] is '!' or '#' && channelId.IndexOf(':', StringComparison.Ordinal) > 1
            ? null
            : "not a Matrix room id (!abc:server) or alias (#name:server)";

    public IReadOnlyList<PuppetInfo> Puppets =>
        [.. _joined.Keys.Where(k => k.UserId != BotUserId)
            .GroupBy(k => k.UserId, StringComparer.Ordinal)
            .Select(g => new PuppetInfo(g.Key, null, [.. g.Select(k => _rooms.ChannelFor(k.RoomId) ?? k.RoomId).Order(StringComparer.Ordinal)]))
            .OrderBy(p => p.LocalId, StringComparer.Ordinal)];

    public async Task ChannelsChangedAsync(IReadOnlyCollection<string> added, IReadOnlyCollection<string> removed, CancellationToken cancellationToken)
    {
        foreach (var channel in removed)
        {
            var roomId = _rooms.Remove(channel);
            if (roomId is not null)
            {
                ForgetTyping(roomId); // nobody there is typing into the link any more
            }

            if (roomId is null || _client is not { } client)
            {
                continue;
            }

            // Puppets first, the bot last: while the bot is there the room still sees who is bridged.
            foreach (var (room, user) in _joined.Keys.Where(k => k.RoomId == roomId).OrderBy(k => k.UserId == BotUserId).ToList())
            {
                try
                {
                    await client.LeaveAsync(roomId, user == BotUserId ? null : user, cancellationToken);
                }
                catch (MatrixApiException ex)
                {
                    _logger.LogWarning(MatrixLog.RoomUnavailable, "{User} could not leave {Channel}: {Error}", user, channel, ex.Message);
                }

                _joined.TryRemove((room, user), out _);
            }

            _logger.LogInformation(MatrixLog.RoomsChanged, "Room {Channel} unlinked at run time: left", channel);
        }

        foreach (var channel in added)
        {
            _rooms.Add(channel);
            if (_client is not { } client)
            {
                continue;
            }

            try
            {
                var roomId = await _rooms.ResolveAsync(channel, client, cancellationToken);
                await client.JoinAsync(roomId, null, cancellationToken);
                _joined[(roomId, BotUserId)] = 0;
                _logger.LogInformation(MatrixLog.RoomsChanged, "Room {Channel} linked at run time: joined", channel);
            }
            catch (MatrixApiException ex) when (ex.Status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
            {
                _logger.LogWarning(MatrixLog.RoomUnavailable, "Bridge bot {Bot} cannot join {Channel} yet ({Error}); invite it to the room",
                    BotUserId, channel, ex.Message);
            }
        }
    }
}
