using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sandbox.Matrix.Appservices;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Media;
using Sandbox.Matrix.RateLimiting;
using Sandbox.Matrix.Rooms;
using Sandbox.Matrix.Sync;
using Sandbox.Matrix.Users;

namespace Sandbox.Matrix.Hosting;

/// <summary>
/// All homeserver state and logic. It outlives Kestrel restarts, which is how the sandbox keeps its state
/// while it is "down". One lock guards the state: the sandbox favours obvious correctness over throughput.
/// Feature logic lives in the partial files of each feature folder.
/// </summary>
internal sealed partial class Homeserver
{
    private readonly object _gate = new();
    private readonly Dictionary<string, UserAccount> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AccessTokenInfo> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Room> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StoredEvent> _events = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliasCreators = new(StringComparer.Ordinal);
    private readonly Dictionary<(string TokenKey, string UserId, string TxnId), string> _txns = [];
    private readonly Dictionary<string, AppservicePusher> _appservices = new(StringComparer.Ordinal);
    private readonly HashSet<string> _uiaSessions = new(StringComparer.Ordinal);
    private long _position;

    public Homeserver(MatrixSandboxOptions options, ILoggerFactory loggerFactory, HttpClient appserviceHttp)
    {
        Options = options;
        LoggerFactory = loggerFactory;
        AppserviceHttp = appserviceHttp;
        Queries = new AppserviceQueries(this);
    }

    public MatrixSandboxOptions Options { get; }

    public ILoggerFactory LoggerFactory { get; }

    public HttpClient AppserviceHttp { get; }

    public AppserviceQueries Queries { get; }

    public StreamNotifier Notifier { get; } = new();

    public RateLimiter RateLimiter { get; } = new();

    /// <summary>Test-only injected failures (500, or 429 for a while); off by default.</summary>
    public Faults.FaultSwitch Faults { get; } = new();

    public MediaRepository Media { get; } = new();

    public string ServerName => Options.ServerName;

    /// <summary>Read at each push so tests can flip it at runtime.</summary>
    public bool UseLegacyAppservicePaths { get; set; }

    public static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public long CurrentPosition
    {
        get
        {
            lock (_gate)
            {
                return _position;
            }
        }
    }

    public IReadOnlyCollection<AppservicePusher> Pushers
    {
        get
        {
            lock (_gate)
            {
                return [.. _appservices.Values];
            }
        }
    }

    /// <summary>
    /// Resolves the access token (header or query) to a principal, applying appservice identity assertion,
    /// then the per-user rate limit when it is switched on.
    /// </summary>
    public Principal Authenticate(HttpRequest request, bool rateLimited = true)
    {
        var token = ReadAccessToken(request) ?? throw new MatrixException(401, ErrorCodes.MissingToken, "Missing access token");
        Principal principal;
        lock (_gate)
        {
            principal = ResolveToken(token, request.Query["user_id"].ToString());
        }

        if (rateLimited)
        {
            RateLimiter.Check(principal.UserId);
        }

        return principal;
    }

    internal static string? ReadAccessToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }

        var query = request.Query["access_token"].ToString();
        return query.Length > 0 ? query : null;
    }

    private Principal ResolveToken(string token, string assertedUser)
    {
        foreach (var pusher in _appservices.Values)
        {
            var reg = pusher.Registration;
            if (reg.AsToken != token)
            {
                continue;
            }

            var userId = assertedUser.Length > 0 ? assertedUser : reg.SenderUserId(ServerName);
            if (!reg.IsUserInNamespace(userId, ServerName))
            {
                throw MatrixException.Forbidden($"Application service cannot masquerade as this user ({userId}).");
            }

            if (!_users.ContainsKey(userId))
            {
                throw MatrixException.Forbidden($"Application service has not registered this user ({userId})");
            }

            return new Principal(userId, "as:" + reg.Id, null, reg);
        }

        if (_tokens.TryGetValue(token, out var info))
        {
            return new Principal(info.UserId, token, info.DeviceId, null);
        }

        throw new MatrixException(401, ErrorCodes.UnknownToken, "Unrecognised access token");
    }

    /// <summary>Appends an event to a room, updates state, queues it for interested appservices and wakes syncs. Caller holds the lock.</summary>
    private StoredEvent AppendLocked(Room room, string type, string sender, JsonObject content, string? stateKey = null,
        long? ts = null, Principal? by = null, string? txnId = null, string? redacts = null)
    {
        var now = NowMs();
        var eventId = Http.Ids.EventId();
        var json = new JsonObject
        {
            ["type"] = type,
            ["room_id"] = room.RoomId,
            ["sender"] = sender,
            ["content"] = content,
            ["origin_server_ts"] = ts ?? now,
            ["event_id"] = eventId,
        };
        var unsigned = new JsonObject();
        var leavesJoin = type == "m.room.member" && stateKey is not null && room.Membership(stateKey) == "join" && MembershipOf(content) != "join";
        if (stateKey is not null)
        {
            json["state_key"] = stateKey;
            if (room.State.TryGetValue((type, stateKey), out var previous))
            {
                unsigned["replaces_state"] = previous.EventId;
                unsigned["prev_content"] = previous.Content.DeepClone();
            }
        }

        if (redacts is not null)
        {
            json["redacts"] = redacts;
        }

        json["unsigned"] = unsigned;
        var ev = new StoredEvent
        {
            Position = ++_position,
            EventId = eventId,
            RoomId = room.RoomId,
            Type = type,
            StateKey = stateKey,
            Sender = sender,
            Json = json,
            TokenKey = by?.TokenKey,
            TxnId = txnId,
        };
        room.Timeline.Add(ev);
        _events[eventId] = ev;
        if (stateKey is not null)
        {
            room.State[(type, stateKey)] = ev;
        }

        foreach (var pusher in _appservices.Values)
        {
            if (IsInterested(pusher.Registration, room, ev))
            {
                pusher.Enqueue(ev.ToClient(null, includeRoomId: true, now));
            }
        }

        if (leavesJoin && room.Typing.Remove(stateKey!))
        {
            // Synapse stops a user's typing when they leave (left, kicked or banned: user_left_room) and sends the new list.
            TypingChangedLocked(room);
        }

        Notifier.Notify();
        return ev;
    }

    private static string? MembershipOf(JsonObject content) =>
        content["membership"] is JsonValue value && value.TryGetValue(out string? membership) ? membership : null;

    /// <summary>The spec's interest rules: namespaced sender or state_key (so an invite of a namespaced user reaches it), a namespaced joined member, a matching alias or room id.</summary>
    private bool IsInterested(AppserviceRegistration reg, Room room, StoredEvent ev) =>
        reg.IsUserInNamespace(ev.Sender, ServerName)
        || (ev.Type == "m.room.member" && ev.StateKey is not null && reg.IsUserInNamespace(ev.StateKey, ServerName))
        || IsInterestedInRoom(reg, room);

    /// <summary>
    /// Interest in a room as such (what decides room EDUs such as m.typing): its id, an alias, a namespaced member who has
    /// joined. The registration's users namespace is "the target of the event, or a joined member of the room" (spec),
    /// and Synapse counts only local joined users (<c>get_local_users_in_room</c>): a namespaced user merely invited makes
    /// the invite itself interesting (its state_key), not the room.
    /// </summary>
    private bool IsInterestedInRoom(AppserviceRegistration reg, Room room)
    {
        if (reg.IsRoomInNamespace(room.RoomId))
        {
            return true;
        }

        foreach (var alias in room.Aliases)
        {
            if (reg.IsAliasInNamespace(alias))
            {
                return true;
            }
        }

        if (room.CanonicalAlias is { } canonical && reg.IsAliasInNamespace(canonical))
        {
            return true;
        }

        foreach (var ((type, stateKey), member) in room.State)
        {
            if (type == "m.room.member" && MembershipOf(member.Content) == "join" && reg.IsUserInNamespace(stateKey, ServerName))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The appservice with an exclusive claim on a user id, if any.</summary>
    private AppserviceRegistration? ExclusiveOwnerOfUserLocked(string userId)
    {
        foreach (var pusher in _appservices.Values)
        {
            if (pusher.Registration.IsUserExclusive(userId) || pusher.Registration.SenderUserId(ServerName) == userId)
            {
                return pusher.Registration;
            }
        }

        return null;
    }

    private AppserviceRegistration? InterestedInUserLocked(string userId)
    {
        foreach (var pusher in _appservices.Values)
        {
            if (pusher.Registration.IsUserInNamespace(userId, ServerName))
            {
                return pusher.Registration;
            }
        }

        return null;
    }

    private AppserviceRegistration? InterestedInAliasLocked(string alias)
    {
        foreach (var pusher in _appservices.Values)
        {
            if (pusher.Registration.IsAliasInNamespace(alias))
            {
                return pusher.Registration;
            }
        }

        return null;
    }
}
