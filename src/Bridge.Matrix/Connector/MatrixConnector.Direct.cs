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

    private DirectMessages? Direct => _context.Services?.GetService(typeof(DirectMessages)) as DirectMessages;

    private bool IsDirectRoom(string roomId) => _directRooms.ContainsKey(roomId) || Direct?.Find(new ChannelRef(NetworkId, roomId)) is not null;

    /// <summary>The channel of a DM room in force (its room id), or null.</summary>
    private string? DirectChannelFor(string roomId) => IsDirectRoom(roomId) && Direct?.Find(new ChannelRef(NetworkId, roomId)) is not null ? roomId : null;

    /// <summary>An invite of one of the puppets into a room marked direct, by a person of this network.</summary>
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

        var target = await PuppetPersonAsync(puppet, ct);
        var from = new PersonRef { NetworkId = NetworkId, UserId = inviter, DisplayName = await DisplayNameAsync(inviter, ct), Handle = LocalpartOf(inviter) };
        var opening = target is null
            ? new DirectOpening(null, "the puppet stands for no known person", "unknown-puppet")
            : await dms.OpenAsync(from, roomId, target, ct);
        try
        {
            if (opening.Opened)
            {
                _directRooms[roomId] = 0;
                await Client.JoinAsync(roomId, puppet, ct);
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
            // The portal (if any) is in force; a join that failed now is made again by the first delivery.
            _logger.LogWarning(DirectInvite, "Puppet {Puppet} could not answer the direct invite to {Room}: {Error}", puppet, roomId, ex.Message);
        }
    }

    private async Task<PersonRef?> PuppetPersonAsync(string puppetUserId, CancellationToken ct)
    {
        if (_puppetPersons.TryGetValue(puppetUserId, out var known))
        {
            return known;
        }

        return await _context.State.GetAsync(MentionScope, "puppet:" + puppetUserId, ct) is { } json ? JsonSerializer.Deserialize<PersonRef>(json) : null;
    }

    /// <summary>The puppet of <paramref name="remote"/> makes a room marked direct and invites <paramref name="local"/>.</summary>
    public async Task<string> OpenDirectAsync(PersonRef local, PersonRef remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        var puppet = await EnsurePuppetAsync(remote, cancellationToken);
        var roomId = await Client.CreateRoomAsync(new JsonObject
        {
            ["preset"] = "trusted_private_chat",
            ["is_direct"] = true,
            ["invite"] = new JsonArray(local.UserId),
        }, puppet, cancellationToken);
        _directRooms[roomId] = 0;
        _joined[(roomId, puppet)] = 0;
        _logger.LogInformation(DirectInvite, "Puppet {Puppet} made the direct room {Room} and invited {Person}", puppet, roomId, local.UserId);
        return roomId;
    }

    public Task DirectPortalInForceAsync(DirectPortal portal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(portal);
        if (portal.On(NetworkId) is { } party)
        {
            _directRooms[party.ChannelId] = 0;
        }

        return Task.CompletedTask;
    }
}
