using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Matrix.Client;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>
/// Policy notices, told only to the person they concern: in a direct room between the bridge bot and that person,
/// never in the shared room where every member would read who was withheld and why. The room is created once
/// (<c>is_direct</c>, <c>trusted_private_chat</c>, listed in the bot's <c>m.direct</c>), remembered in the connector's
/// state store so a restart reuses it, and reused for every later notice.
/// </summary>
public sealed partial class MatrixConnector
{
    private readonly ConcurrentDictionary<string, string> _noticeRooms = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _noticeRoomGate = new(1, 1);

    private string NoticeRoomScope => "matrix:" + NetworkId + ":notice-rooms";

    public async Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(person);
        ArgumentException.ThrowIfNullOrEmpty(notice);
        if (IsOwnUser(person.UserId))
        {
            return; // the bot and puppets are never told anything
        }

        var content = new JsonObject
        {
            ["msgtype"] = "m.notice",
            ["body"] = notice,
        };
        var roomId = await EnsureNoticeRoomAsync(person.UserId, cancellationToken);
        try
        {
            await Client.SendEventAsync(roomId, "m.room.message", "notice-" + Guid.NewGuid().ToString("N"), content, BotUserId, null, cancellationToken);
        }
        catch (MatrixApiException ex) when (ex.Status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            // The bot is no longer in that room (kicked, room purged): forget it and open a new one, once. Never the shared room.
            _logger.LogInformation(MatrixLog.NoticeRoomCreated, "Notice room {Room} of {User} is no longer usable ({Error}); opening a new one", roomId, person.UserId, ex.Message);
            await ForgetNoticeRoomAsync(person.UserId, roomId, cancellationToken);
            roomId = await EnsureNoticeRoomAsync(person.UserId, cancellationToken);
            await Client.SendEventAsync(roomId, "m.room.message", "notice-" + Guid.NewGuid().ToString("N"), content, BotUserId, null, cancellationToken);
        }
    }

    private async Task ForgetNoticeRoomAsync(string userId, string roomId, CancellationToken ct)
    {
        await _noticeRoomGate.WaitAsync(ct);
        try
        {
            if (_noticeRooms.TryGetValue(userId, out var current) && current != roomId)
            {
                return; // replaced meanwhile
            }

            _noticeRooms.TryRemove(userId, out _);
            await _context.State.DeleteAsync(NoticeRoomScope, userId, ct);
        }
        finally
        {
            _noticeRoomGate.Release();
        }
    }

    /// <summary>The direct room between the bot and <paramref name="userId"/>: remembered, else created (serialised, so never twice).</summary>
    internal async Task<string> EnsureNoticeRoomAsync(string userId, CancellationToken ct)
    {
        if (_noticeRooms.TryGetValue(userId, out var known))
        {
            return known;
        }

        await _noticeRoomGate.WaitAsync(ct);
        try
        {
            if (_noticeRooms.TryGetValue(userId, out known))
            {
                return known;
            }

            if (await _context.State.GetAsync(NoticeRoomScope, userId, ct) is { Length: > 0 } stored)
            {
                _noticeRooms[userId] = stored;
                return stored;
            }

            var roomId = await Client.CreateRoomAsync(new JsonObject
            {
                ["is_direct"] = true,
                ["preset"] = "trusted_private_chat",
                ["invite"] = new JsonArray(userId),
            }, BotUserId, ct);
            // Remembered before anything else can fail, so a retry reuses the room rather than creating another.
            await _context.State.SetAsync(NoticeRoomScope, userId, roomId, ct);
            _noticeRooms[userId] = roomId;
            await MarkDirectAsync(userId, roomId, ct);
            _logger.LogInformation(MatrixLog.NoticeRoomCreated, "Created direct room {Room} for policy notices to {User}", roomId, userId);
            return roomId;
        }
        finally
        {
            _noticeRoomGate.Release();
        }
    }

    /// <summary>Adds the room to the bot's <c>m.direct</c> account data (user id → room ids), keeping what is there.</summary>
    private async Task MarkDirectAsync(string userId, string roomId, CancellationToken ct)
    {
        var direct = await Client.GetAccountDataAsync(BotUserId, "m.direct", ct) ?? new JsonObject();
        if (direct[userId] is not JsonArray rooms)
        {
            direct[userId] = rooms = new JsonArray();
        }

        if (!rooms.Any(r => r is JsonValue v && v.TryGetValue(out string? id) && id == roomId))
        {
            rooms.Add((JsonNode)JsonValue.Create(roomId));
            await Client.SetAccountDataAsync(BotUserId, "m.direct", direct, ct);
        }
    }
}
