using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Core.Typing;
using Bridge.Matrix.Formatting;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>
/// Typing. In: the m.typing EDUs of a transaction's ephemeral section (the registration asks for them with
/// <c>receive_ephemeral</c>, MSC2409) name everyone typing in a room now; the difference from the last list seen for that
/// room becomes a start or a stop per person for the core's typing relay, never the outbox; while the list still names
/// someone, they are reported again every <see cref="TypingRelay.Repeat"/> (Matrix does not repeat it). In a DM room only
/// the portal's party counts. Whoever is forgotten (the bot left, the room was unlinked or closed, a malformed list came)
/// is reported as stopped, and every report is made under one gate, so a repeat never overtakes a stop. Out: a puppet already made
/// shows typing with <c>PUT /rooms/{roomId}/typing/{puppet}</c> for <see cref="TypingTimeout"/> (the relay refreshes it
/// while the person types), or stops. Only the homeserver's answer says whether the puppet is in the room: typing never
/// registers a puppet or joins a room.
/// </summary>
public sealed partial class MatrixConnector : ITypingTarget
{
    /// <summary>How long a puppet shows typing on Matrix unless refreshed or stopped (a lost stop ends by itself).</summary>
    internal static readonly TimeSpan TypingTimeout = TimeSpan.FromSeconds(30);

    /// <summary>More names than this in one m.typing is not a room's typing but a flood: it is taken as nobody typing.</summary>
    internal const int MaxTypingUsers = 1000;

    /// <summary>
    /// How long a person still named by m.typing is told again to the relay: the homeserver sends m.typing only when the
    /// list changes, and Mattermost's indicator fades after a few seconds without a repeat. Past this, a list that never
    /// changes (a lost stop) is no longer repeated.
    /// </summary>
    internal static readonly TimeSpan TypingRepeatLimit = TimeSpan.FromMinutes(2);

    private readonly Lock _typingGate = new();

    /// <summary>Linked room id → its channel and the people (not ours) its last m.typing named, with when each started. Bounded by the linked rooms.</summary>
    private readonly Dictionary<string, (string Channel, Dictionary<string, DateTimeOffset> People)> _typingByRoom = new(StringComparer.Ordinal);

    /// <summary>Reads the ephemeral section of a transaction; a malformed EDU is logged and dropped, nothing else is lost.</summary>
    private void HandleEphemeral(JsonArray ephemeral)
    {
        foreach (var node in ephemeral)
        {
            try
            {
                if (node is not JsonObject edu || Str(edu, "type") is not { } type)
                {
                    _logger.LogWarning(MatrixLog.TypingDropped, "Dropped a malformed ephemeral event (not an object with a type)");
                    continue;
                }

                if (type == "m.typing")
                {
                    HandleTyping(edu);
                }
                // Receipts and presence are not bridged.
            }
            catch (Exception ex)
            {
                // Typing is never owed: whatever went wrong costs this event only, never the transaction.
                _logger.LogWarning(MatrixLog.TypingDropped, ex, "Dropped an ephemeral event that could not be read");
            }
        }
    }

    private void HandleTyping(JsonObject edu)
    {
        if (Str(edu, "room_id") is not { Length: > 0 } roomId)
        {
            _logger.LogWarning(MatrixLog.TypingDropped, "Dropped a malformed m.typing (no room_id)");
            return;
        }

        // A malformed list is no list: for a room whose typing is known it means nobody is known to type any more, so
        // everyone known is stopped rather than repeated on for minutes on the strength of an older list.
        if (ReadTyping(edu) is not { } typing)
        {
            _logger.LogWarning(MatrixLog.TypingDropped,
                "Malformed m.typing in {Room} (content.user_ids of at most {Max} user ids) taken as nobody typing", roomId, MaxTypingUsers);
            typing = [];
        }

        lock (_typingGate)
        {
            // Only rooms a link names (a DM room only while its portal is in force); nothing is resolved for typing.
            if (TypingChannelFor(roomId) is not { } channel)
            {
                ForgetTypingLocked(roomId); // unlinked or closed meanwhile: whoever was known stops
                return;
            }

            if (IsDirectRoom(roomId))
            {
                // In a DM room only the portal's party speaks (as for its messages); nobody else's typing crosses.
                typing.IntersectWith(DirectPartyOf(roomId) is { } party ? [party] : []);
            }

            if (_typingByRoom.TryGetValue(roomId, out var known) && known.Channel != channel)
            {
                ForgetTypingLocked(roomId); // the room now stands for another channel: the old one hears the stops
            }

            var before = _typingByRoom.TryGetValue(roomId, out var current) ? current.People : [];
            var now = _context.Time.GetUtcNow();
            List<string> started = [.. typing.Where(u => !before.ContainsKey(u))];
            List<string> stopped = [.. before.Keys.Where(u => !typing.Contains(u))];
            if (typing.Count == 0)
            {
                _typingByRoom.Remove(roomId);
            }
            else
            {
                _typingByRoom[roomId] = (channel, typing.ToDictionary(u => u, u => before.TryGetValue(u, out var since) ? since : now, StringComparer.Ordinal));
            }

            // Told under the gate (the relay returns at once and never calls back), so a repeat can never overtake a stop.
            var where = new ChannelRef(NetworkId, channel);
            foreach (var userId in started)
            {
                _context.Typing.Typing(where, TypingPerson(userId), true);
            }

            foreach (var userId in stopped)
            {
                _context.Typing.Typing(where, TypingPerson(userId), false);
            }
        }
    }

    /// <summary>The people (not ours) an m.typing names, or null when its list is malformed or a flood.</summary>
    private HashSet<string>? ReadTyping(JsonObject edu)
    {
        if (edu["content"] is not JsonObject content || content["user_ids"] is not JsonArray ids || ids.Count > MaxTypingUsers)
        {
            return null;
        }

        var typing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (JsonStrings.Of(id) is not { } userId || LocalpartOf(userId) is null)
            {
                return null;
            }

            if (!IsOwnUser(userId))
            {
                typing.Add(userId); // our puppets' typing is our own echo; the bot never types for anyone
            }
        }

        return typing;
    }

    /// <summary>The channel a room's typing is reported under: a linked room's, or a DM room's in force and not closed; else null.</summary>
    private string? TypingChannelFor(string roomId) =>
        IsClosedDirectRoom(roomId) ? null : IsDirectRoom(roomId) ? DirectChannelFor(roomId) : _rooms.ChannelFor(roomId);

    /// <summary>The Matrix party of the portal in force in a DM room, or null (not a DM room).</summary>
    private string? DirectPartyOf(string roomId) => Direct?.Find(new ChannelRef(NetworkId, roomId))?.On(NetworkId)?.UserId;

    /// <summary>
    /// Tells the relay again about everyone still typing in a linked room (it passes a repeat on at most once per
    /// <see cref="TypingRelay.Repeat"/>), for at most <see cref="TypingRepeatLimit"/> per person. A room no longer linked
    /// (or a DM room closed) is forgotten, its people stopped.
    /// </summary>
    internal void RepeatTyping()
    {
        var now = _context.Time.GetUtcNow();
        lock (_typingGate)
        {
            foreach (var roomId in _typingByRoom.Where(r => TypingChannelFor(r.Key) != r.Value.Channel).Select(r => r.Key).ToList())
            {
                ForgetTypingLocked(roomId);
            }

            // Under the gate, as every report of this connector: a stop sent meanwhile cannot be overtaken by this repeat.
            foreach (var (_, (channel, people)) in _typingByRoom)
            {
                var where = new ChannelRef(NetworkId, channel);
                foreach (var userId in people.Where(p => now - p.Value < TypingRepeatLimit).Select(p => p.Key))
                {
                    _context.Typing.Typing(where, TypingPerson(userId), true);
                }
            }
        }
    }

    /// <summary>Forgets a room's typing (the bot left, the room was unlinked or closed), telling the relay each known person stopped.</summary>
    private void ForgetTyping(string roomId)
    {
        lock (_typingGate)
        {
            ForgetTypingLocked(roomId);
        }
    }

    private void ForgetTypingLocked(string roomId)
    {
        if (!_typingByRoom.Remove(roomId, out var known))
        {
            return;
        }

        var where = new ChannelRef(NetworkId, known.Channel);
        foreach (var userId in known.People.Keys)
        {
            _context.Typing.Typing(where, TypingPerson(userId), false);
        }
    }

    private async Task RepeatTypingLoopAsync(CancellationToken ct)
    {
        try
        {
            using var timer = new PeriodicTimer(TypingRelay.Repeat, _context.Time);
            while (await timer.WaitForNextTickAsync(ct))
            {
                RepeatTyping();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>The person as known from member events (no request to the homeserver for typing).</summary>
    private PersonRef TypingPerson(string userId) => new()
    {
        NetworkId = NetworkId,
        UserId = userId,
        DisplayName = _displayNames.GetValueOrDefault(userId) ?? LocalpartOf(userId) ?? userId,
        Handle = LocalpartOf(userId),
    };

    public async Task ShowTypingAsync(ChannelRef destination, PersonRef person, bool typing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(person);
        if (!_ready || IsClosedDirectRoom(destination.ChannelId) || (person.NetworkId == NetworkId && IsOwnUser(person.UserId)))
        {
            return;
        }

        // The puppet the person already has (remembered in memory or in the store); typing never makes one.
        if (!_puppetIds.TryGetValue(person.Key, out var localpart)
            && (localpart = await _context.State.GetAsync(PuppetScope, PersonKeyPrefix + person.Key, cancellationToken)) is null)
        {
            return;
        }

        var roomId = await _rooms.ResolveAsync(destination.ChannelId, Client, cancellationToken);
        // A puppet not in the room is refused by the homeserver (403): the relay logs it; typing never joins.
        await Client.SetTypingAsync(roomId, "@" + localpart + ":" + _options.ServerName, typing, TypingTimeout, cancellationToken);
    }
}
