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
/// someone, they are reported again every <see cref="TypingRelay.Repeat"/> (Matrix does not repeat it). Out: a puppet already made
/// shows typing with <c>PUT /rooms/{roomId}/typing/{puppet}</c> for <see cref="TypingTimeout"/> (the relay refreshes it
/// while the person types), or stops. Only the homeserver's answer says whether the puppet is in the room: typing never
/// registers a puppet or joins a room.
/// </summary>
public sealed partial class MatrixConnector : ITypingTarget
{
    /// <summary>How long a puppet shows typing on Matrix unless refreshed or stopped (a lost stop ends by itself).</summary>
    internal static readonly TimeSpan TypingTimeout = TimeSpan.FromSeconds(30);

    /// <summary>More names than this in one m.typing is not a room's typing but a flood: the event is dropped.</summary>
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
        if (Str(edu, "room_id") is not { Length: > 0 } roomId || edu["content"] is not JsonObject content || content["user_ids"] is not JsonArray ids
            || ids.Count > MaxTypingUsers)
        {
            _logger.LogWarning(MatrixLog.TypingDropped, "Dropped a malformed m.typing (room_id, content.user_ids of at most {Max} user ids)", MaxTypingUsers);
            return;
        }

        var typing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (JsonStrings.Of(id) is not { } userId || LocalpartOf(userId) is null)
            {
                _logger.LogWarning(MatrixLog.TypingDropped, "Dropped a malformed m.typing in {Room}: a user id is not a user id", roomId);
                return;
            }

            if (!IsOwnUser(userId))
            {
                typing.Add(userId); // our puppets' typing is our own echo; the bot never types for anyone
            }
        }

        // Only rooms a link names (a DM room only while its portal is in force); nothing is resolved for typing.
        var channel = IsDirectRoom(roomId) || IsClosedDirectRoom(roomId)
            ? (IsClosedDirectRoom(roomId) ? null : DirectChannelFor(roomId))
            : _rooms.ChannelFor(roomId);
        if (channel is null)
        {
            return;
        }

        List<string> started;
        List<string> stopped;
        var now = _context.Time.GetUtcNow();
        lock (_typingGate)
        {
            var before = _typingByRoom.TryGetValue(roomId, out var known) ? known.People : [];
            started = [.. typing.Where(u => !before.ContainsKey(u))];
            stopped = [.. before.Keys.Where(u => !typing.Contains(u))];
            if (typing.Count == 0)
            {
                _typingByRoom.Remove(roomId);
            }
            else
            {
                _typingByRoom[roomId] = (channel, typing.ToDictionary(u => u, u => before.TryGetValue(u, out var since) ? since : now, StringComparer.Ordinal));
            }
        }

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

    /// <summary>
    /// Tells the relay again about everyone still typing in a linked room (it passes a repeat on at most once per
    /// <see cref="TypingRelay.Repeat"/>), for at most <see cref="TypingRepeatLimit"/> per person.
    /// </summary>
    internal void RepeatTyping()
    {
        var now = _context.Time.GetUtcNow();
        List<(string Channel, string UserId)> still = [];
        lock (_typingGate)
        {
            foreach (var (roomId, (channel, people)) in _typingByRoom)
            {
                if (_rooms.ChannelFor(roomId) != channel && DirectChannelFor(roomId) != channel)
                {
                    continue; // unlinked meanwhile
                }

                still.AddRange(people.Where(p => now - p.Value < TypingRepeatLimit).Select(p => (channel, p.Key)));
            }
        }

        foreach (var (channel, userId) in still)
        {
            _context.Typing.Typing(new ChannelRef(NetworkId, channel), TypingPerson(userId), true);
        }
    }

    private void ForgetTyping(string roomId)
    {
        lock (_typingGate)
        {
            _typingByRoom.Remove(roomId);
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
