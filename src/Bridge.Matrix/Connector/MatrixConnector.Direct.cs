using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bridge.Core.Direct;
using Bridge.Core.Model;
using Bridge.Matrix.Client;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>
/// Direct chats (<see cref="DirectMessages"/>). A Matrix person who invites a puppet into a room marked direct
/// (<c>is_direct</c> in the invite's member content, as clients make DMs with <c>createRoom</c>) asks the core to open
/// a portal to the person the puppet stands for: the puppet joins when it opens and rejects the invite (leaves) when
/// the core refuses. The other way, the puppet of a person elsewhere creates a room marked direct and invites the
/// Matrix person. The invite is handled inside its transaction, so the person's first messages (next transactions)
/// find the portal in force. A DM room's channel id is its room id; puppets stay in DM rooms when the bridge stops.
/// </summary>
public sealed partial class MatrixConnector : IDirectMessageConnector
{
    private static readonly EventId DirectInvite = new(3050, "MatrixDirectInvite");

    private readonly ConcurrentDictionary<string, byte> _directRooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _closedDirectRooms = new(StringComparer.Ordinal);
    private long _directOutsidersRefused;

    private string ClosedDirectScope => "matrix:" + NetworkId + ":direct-closed";

    /// <summary>Whether a DM room was closed because a third member came in (nothing is delivered into it any more).</summary>
    private bool IsClosedDirectRoom(string roomId) => _closedDirectRooms.ContainsKey(roomId);

    private DirectMessages? Direct => _context.Services?.GetService(typeof(DirectMessages)) as DirectMessages;

    private bool IsDirectRoom(string roomId) => _directRooms.ContainsKey(roomId) || Direct?.Find(new ChannelRef(NetworkId, roomId)) is not null;

    /// <summary>The channel of a DM room in force (its room id), or null.</summary>
    private string? DirectChannelFor(string roomId) => IsDirectRoom(roomId) && Direct?.Find(new ChannelRef(NetworkId, roomId)) is not null ? roomId : null;

    /// <summary>The server part of a Matrix user id (<c>@alice:example.org</c> → <c>example.org</c>), or null.</summary>
    internal static string? ServerOf(string userId)
    {
        var colon = userId.IndexOf(':', StringComparison.Ordinal);
        return userId.StartsWith('@') && colon > 1 && colon < userId.Length - 1 ? userId[(colon + 1)..] : null;
    }

    /// <summary>Whether <paramref name="userId"/> is a user of one of <paramref name="servers"/> (exact server name).</summary>
    internal static bool IsDirectInitiator(string userId, IReadOnlyList<string> servers) =>
        ServerOf(userId) is { } server && servers.Contains(server, StringComparer.Ordinal);

    /// <summary>
    /// Whether a room's state (the <c>/state</c> answer) is a fresh 1:1: members joined, invited or knocking are exactly
    /// <paramref name="inviter"/> (joined) and <paramref name="puppet"/>.
    /// </summary>
    internal static bool IsFreshOneToOne(JsonArray state, string inviter, string puppet)
    {
        var members = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in state)
        {
            if (node is JsonObject e && Str(e, "type") == "m.room.member" && Str(e, "state_key") is { } key && e["content"] is JsonObject c && Str(c, "membership") is { } membership
                && membership is "join" or "invite" or "knock")
            {
                members[key] = membership;
            }
        }

        return members.Count == 2 && members.GetValueOrDefault(inviter) == "join" && members.ContainsKey(puppet);
    }

    /// <summary>
    /// An invite of one of the puppets into a room marked direct, by a person of an allowed server. The room must be a
    /// fresh 1:1 (only the inviter joined, only the puppet invited) and no linked room; anything else is rejected before
    /// the core is asked, so that remote input neither writes audit rows nor takes locks.
    /// </summary>
    private async Task HandleDirectInviteAsync(JsonObject ev, string roomId, CancellationToken ct)
    {
        var puppet = Str(ev, "state_key");
        var inviter = Str(ev, "sender");
        if (puppet is null || inviter is null || ev["content"] is not JsonObject content || Str(content, "membership") != "invite"
            || puppet == BotUserId || !IsOwnUser(puppet) || IsOwnUser(inviter)
            || content["is_direct"] is not JsonValue direct || !direct.TryGetValue<bool>(out var isDirect) || !isDirect)
        {
            return;
        }

        if (Direct is not { } dms)
        {
            return;
        }

        if (!dms.IsEnabled(NetworkId))
        {
            _logger.LogDebug(DirectInvite, "Direct invite of {Puppet} by {Inviter} to {Room} rejected: direct messages are off on this network", puppet, inviter, roomId);
            await RejectDirectInviteAsync(roomId, puppet, ct);
            return;
        }

        if (!IsDirectInitiator(inviter, _options.DirectServers()))
        {
            var refused = Interlocked.Increment(ref _directOutsidersRefused);
            _logger.LogDebug(DirectInvite, "Direct invite of {Puppet} by {Inviter} to {Room} rejected ({Count} so far): the server is not in directMessagesFrom", puppet, inviter, roomId, refused);
            await RejectDirectInviteAsync(roomId, puppet, ct);
            return;
        }

        if (_rooms.ChannelFor(roomId) is not null || await _rooms.FindChannelAsync(roomId, Client, ct) is not null)
        {
            _logger.LogInformation(DirectInvite, "Direct invite of {Puppet} by {Inviter} ignored: {Room} is a linked room", puppet, inviter, roomId);
            return;
        }

        if (Direct.Find(new ChannelRef(NetworkId, roomId)) is not null)
        {
            return; // a portal in force already (the invite delivered again)
        }

        // The person the puppet stands for, and whether their network takes direct messages, are known before the
        // puppet even joins: an invite that could never open a chat does not reach the core (no audit row, no lock).
        var target = await PuppetPersonAsync(puppet, ct);
        if (target is null || !dms.IsEnabled(target.NetworkId))
        {
            _logger.LogDebug(DirectInvite, "Direct invite of {Puppet} by {Inviter} to {Room} rejected: {Reason}", puppet, inviter, roomId,
                target is null ? "the puppet stands for no known person" : $"direct messages are off on network {target.NetworkId}");
            await RejectDirectInviteAsync(roomId, puppet, ct);
            return;
        }

        try
        {
            // The members of a room are read by a member: the puppet joins, reads, and leaves again if it is no fresh 1:1.
            await Client.JoinAsync(roomId, puppet, ct);
            var state = await Client.GetStateAsync(roomId, puppet, ct);
            if (!IsFreshOneToOne(state, inviter, puppet))
            {
                _logger.LogInformation(DirectInvite, "Direct invite of {Puppet} by {Inviter} rejected: {Room} is not a fresh room of the two of them", puppet, inviter, roomId);
                await Client.LeaveAsync(roomId, puppet, ct);
                return;
            }
        }
        catch (Exception ex) when (ex is MatrixApiException or HttpRequestException)
        {
            _logger.LogWarning(DirectInvite, "Puppet {Puppet} could not check the direct room {Room}: {Error}", puppet, roomId, ex.Message);
            return;
        }

        var from = new PersonRef { NetworkId = NetworkId, UserId = inviter, DisplayName = await DisplayNameAsync(inviter, ct), Handle = LocalpartOf(inviter) };
        var opening = await dms.OpenAsync(from, roomId, target, ct);
        try
        {
            if (opening.Opened)
            {
                _directRooms[roomId] = 0;
                _joined[(roomId, puppet)] = 0;
                _logger.LogInformation(DirectInvite, "Puppet {Puppet} joined the direct room {Room} of {Inviter} (portal {Portal})", puppet, roomId, inviter, opening.Portal!.Id);
            }
            else
            {
                await Client.LeaveAsync(roomId, puppet, ct);
                _logger.LogInformation(DirectInvite, "Puppet {Puppet} rejected the direct invite of {Inviter} to {Room}: {Reason}", puppet, inviter, roomId, opening.Refusal);
            }
        }
        catch (Exception ex) when (ex is MatrixApiException or HttpRequestException)
        {
            _logger.LogWarning(DirectInvite, "Puppet {Puppet} could not answer the direct invite to {Room}: {Error}", puppet, roomId, ex.Message);
        }
    }

    private async Task RejectDirectInviteAsync(string roomId, string puppet, CancellationToken ct)
    {
        try
        {
            await Client.LeaveAsync(roomId, puppet, ct);
        }
        catch (Exception ex) when (ex is MatrixApiException or HttpRequestException)
        {
            _logger.LogDebug(DirectInvite, "Puppet {Puppet} could not reject the invite to {Room}: {Error}", puppet, roomId, ex.Message);
        }
    }

    /// <summary>
    /// Whether an event of a DM room may cross: only from the portal's party on this network. Others are dropped (logged);
    /// a third member joining or being invited closes the room for good (kept in the store): nothing more crosses either way.
    /// </summary>
    private async Task<bool> DirectEventAllowedAsync(JsonObject ev, string roomId, string sender, CancellationToken ct)
    {
        if (_closedDirectRooms.ContainsKey(roomId) || Direct?.Find(new ChannelRef(NetworkId, roomId)) is not { } portal || portal.On(NetworkId) is not { } party)
        {
            return false;
        }

        if (Str(ev, "type") == "m.room.member")
        {
            if (Str(ev, "state_key") is { } member && member != party.UserId && !IsOwnUser(member)
                && ev["content"] is JsonObject content && Str(content, "membership") is "join" or "invite" or "knock")
            {
                await CloseDirectRoomAsync(roomId, portal.Id, member, ct);
            }

            return false;
        }

        if (sender != party.UserId)
        {
            _logger.LogInformation(DirectInvite, "Event of {Sender} in the direct room {Room} dropped: only {Party} speaks there", sender, roomId, party.UserId);
            return false;
        }

        return true;
    }

    /// <summary>Closes a DM room for good (kept in the store): nothing more crosses either way.</summary>
    private async Task CloseDirectRoomAsync(string roomId, string portalId, string member, CancellationToken ct)
    {
        _closedDirectRooms[roomId] = 0;
        ForgetTyping(roomId); // the party's typing stops crossing with the rest: the other side is told it stopped
        await _context.State.SetAsync(ClosedDirectScope, roomId, member, ct);
        _logger.LogWarning(DirectInvite, "Direct room {Room} (portal {Portal}) closed: {Member} is in it besides the two people; nothing crosses any more", roomId, portalId, member);
    }

    /// <summary>
    /// Before anything is sent into a DM room: the room's members as the homeserver has them now, read by the sending
    /// puppet. The member event of a third person may still be on its way to the bridge (the homeserver pushes
    /// transactions one at a time) while the other side's message is already here; sent then, it would reach the third
    /// person. A third member closes the room, as its member event would; null when there is none (or no DM room).
    /// </summary>
    private async Task<string?> ThirdMemberOfDirectRoomAsync(string roomId, string puppet, CancellationToken ct)
    {
        if (Direct?.Find(new ChannelRef(NetworkId, roomId)) is not { } portal || portal.On(NetworkId) is not { } party)
        {
            return null;
        }

        foreach (var node in await Client.GetStateAsync(roomId, puppet, ct))
        {
            if (node is JsonObject e && Str(e, "type") == "m.room.member" && Str(e, "state_key") is { } member
                && member != party.UserId && member != puppet && !IsOwnUser(member)
                && e["content"] is JsonObject c && Str(c, "membership") is "join" or "invite" or "knock")
            {
                await CloseDirectRoomAsync(roomId, portal.Id, member, ct);
                return member;
            }
        }

        return null;
    }

    private async Task<PersonRef?> PuppetPersonAsync(string puppetUserId, CancellationToken ct)
    {
        if (_puppetPersons.TryGetValue(puppetUserId, out var known))
        {
            return known;
        }

        return await _context.State.GetAsync(MentionScope, "puppet:" + puppetUserId, ct) is { } json ? JsonSerializer.Deserialize(json, StateJson.Default.PersonRef) : null;
    }

    /// <summary>The puppet of <paramref name="remote"/> makes a room marked direct and invites <paramref name="local"/>.</summary>
    public async Task<string> OpenDirectAsync(PersonRef local, PersonRef remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        var puppet = await EnsurePuppetAsync(remote, cancellationToken);
        var roomId = await Client.CreateRoomAsync(new JsonObject
        {
            ["preset"] = "private_chat", // trusted_private_chat would make the invitee an admin, able to invite others
            ["is_direct"] = true,
            ["invite"] = new JsonArray(local.UserId),
        }, puppet, cancellationToken);
        _directRooms[roomId] = 0;
        _joined[(roomId, puppet)] = 0;
        _logger.LogInformation(DirectInvite, "Puppet {Puppet} made the direct room {Room} and invited {Person}", puppet, roomId, local.UserId);
        return roomId;
    }

    public async Task DirectPortalInForceAsync(DirectPortal portal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(portal);
        if (portal.On(NetworkId) is { } party)
        {
            _directRooms[party.ChannelId] = 0;
            if (await _context.State.GetAsync(ClosedDirectScope, party.ChannelId, cancellationToken) is not null)
            {
                _closedDirectRooms[party.ChannelId] = 0;
            }
        }
    }
}
