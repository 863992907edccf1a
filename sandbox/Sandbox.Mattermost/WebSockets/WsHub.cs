using System.Text.Json.Nodes;
using Sandbox.Mattermost.Model;

namespace Sandbox.Mattermost.WebSockets;

/// <summary>
/// The server's hub with reliable websockets: a logical connection (connection_id) outlives its socket, keeps a per
/// connection seq that counts events only, and the last 128 events (dead queue) for a resume. Events published while the
/// socket is gone still get their seq and enter the queue, so a resume replays them; more than 128 missed events (or an
/// unknown id) make the hub start a new connection with a new hello, and the client has to catch up over REST.
/// </summary>
internal sealed class WsHub
{
    public const int DeadQueueSize = 128;
    public static readonly TimeSpan InactiveReapAfter = TimeSpan.FromMinutes(5);

    private readonly SandboxState _state;
    private readonly Func<string> _versionId;
    private readonly Dictionary<string, WsConnection> _connections = [];
    private readonly Lock _gate = new();

    public WsHub(SandboxState state, Func<string> versionId)
    {
        _state = state;
        _versionId = versionId;
        state.Publish = Publish;
    }

    public int ActiveSocketCount
    {
        get
        {
            lock (_gate)
            {
                return _connections.Values.Count(c => c.Link is not null);
            }
        }
    }

    public IReadOnlyList<string> ConnectionIds
    {
        get
        {
            lock (_gate)
            {
                return [.. _connections.Keys];
            }
        }
    }

    private void Publish(WsEvent ev)
    {
        lock (_gate)
        {
            foreach (var conn in _connections.Values)
            {
                if (ShouldSend(conn.UserId, ev))
                {
                    var admin = ev.AdminData is not null && _state.GetUser(conn.UserId).IsAdmin;
                    conn.Enqueue(ev.Event, admin ? ev.AdminData! : ev.Data, ev.Broadcast.ToJson());
                }
            }
        }
    }

    private bool ShouldSend(string userId, WsEvent ev)
    {
        var b = ev.Broadcast;
        if (b.UserId.Length > 0)
        {
            return b.UserId == userId;
        }
        if (b.OmitUsers?.Contains(userId) == true)
        {
            return false;
        }
        if (b.ChannelId.Length > 0)
        {
            return _state.IsChannelMember(b.ChannelId, userId);
        }
        if (b.TeamId.Length > 0)
        {
            return _state.IsTeamMember(b.TeamId, userId);
        }
        return true;
    }

    /// <summary>Attaches an authenticated socket: resumes a known connection or starts a new one with a hello.</summary>
    public WsConnection Register(string userId, string requestedId, long? requestedSeq, WsLink link)
    {
        lock (_gate)
        {
            if (requestedId.Length > 0 && _connections.TryGetValue(requestedId, out var known))
            {
                // inactiveConnReaperInterval: a connection without a socket for 5 minutes is gone.
                var reaped = known.Link is null && _state.Time.GetUtcNow() - known.DetachedAt > InactiveReapAfter;
                if (!reaped && known.UserId == userId && requestedSeq is { } seq && known.TryResume(seq, link))
                {
                    return known;
                }
                known.Link?.Abort();
                _connections.Remove(requestedId);
            }
            var conn = new WsConnection(MmIds.NewId(), userId);
            _connections[conn.ConnectionId] = conn;
            conn.Attach(link);
            conn.Enqueue("hello",
                new JsonObject { ["server_version"] = _versionId(), ["connection_id"] = conn.ConnectionId, ["server_hostname"] = "sandbox" },
                new WsBroadcast(UserId: userId).ToJson());
            return conn;
        }
    }

    public void Detach(WsConnection conn, WsLink link)
    {
        lock (_gate)
        {
            if (conn.Link == link)
            {
                conn.Link = null;
                conn.DetachedAt = _state.Time.GetUtcNow();
            }
        }
    }

    /// <summary>Current sockets stay open but receive nothing more (no events, no pongs); events still queue for a resume.</summary>
    public void FreezeAll()
    {
        lock (_gate)
        {
            foreach (var conn in _connections.Values)
            {
                conn.Link?.Frozen = true;
            }
        }
    }

    /// <summary>Drops every socket. With <paramref name="keepResumeQueue"/> the logical connections survive for a resume.</summary>
    public void DropAll(bool keepResumeQueue)
    {
        lock (_gate)
        {
            foreach (var conn in _connections.Values)
            {
                conn.Link?.Abort();
                conn.Link = null;
                conn.DetachedAt = _state.Time.GetUtcNow();
            }
            if (!keepResumeQueue)
            {
                _connections.Clear();
            }
        }
    }
}

internal sealed class WsConnection(string connectionId, string userId)
{
    private readonly Queue<(long Seq, string Json)> _dead = new();

    public string ConnectionId { get; } = connectionId;
    public string UserId { get; } = userId;
    public long NextSeq { get; private set; }
    public WsLink? Link { get; set; }
    public DateTimeOffset DetachedAt { get; set; }

    // Called with the hub lock held.
    public void Enqueue(string evt, JsonObject data, JsonObject broadcast)
    {
        var json = new JsonObject
        {
            ["event"] = evt,
            ["data"] = data.DeepClone(),
            ["broadcast"] = broadcast,
            ["seq"] = NextSeq,
        }.ToJsonString();
        _dead.Enqueue((NextSeq, json));
        while (_dead.Count > WsHub.DeadQueueSize)
        {
            _dead.Dequeue();
        }
        NextSeq++;
        Link?.Send(json);
    }

    public void Attach(WsLink link)
    {
        Link?.Abort();
        Link = link;
    }

    public bool TryResume(long seq, WsLink link)
    {
        var resumable = seq == NextSeq || (_dead.Count > 0 && _dead.Peek().Seq <= seq && seq < NextSeq);
        if (!resumable)
        {
            return false;
        }
        Attach(link);
        foreach (var (s, json) in _dead)
        {
            if (s >= seq)
            {
                link.Send(json);
            }
        }
        return true;
    }
}
