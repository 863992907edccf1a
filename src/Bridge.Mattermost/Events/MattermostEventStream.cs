using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Websocket.Client;

namespace Bridge.Mattermost.Events;

/// <summary>What the listener hands to the connector, in order.</summary>
internal abstract record StreamItem
{
    /// <summary>A server event whose seq was the expected one.</summary>
    public sealed record Event(string Name, JsonObject Data, long Seq) : StreamItem;

    /// <summary>Events may have been missed (new connection id, a seq gap): catch up over REST.</summary>
    public sealed record Resync(string Reason) : StreamItem;
}

/// <summary>
/// The Mattermost WebSocket: authentication challenge, hello, per-connection seq checking, application pings, and
/// reconnects that ask the server to resume (connection_id + sequence_number). When the server cannot resume it sends a
/// new hello with a new connection id; every hello and every seq gap becomes a <see cref="StreamItem.Resync"/>.
/// </summary>
internal sealed class MattermostEventStream : IAsyncDisposable
{
    private readonly Uri _baseWsUri;
    private readonly string _token;
    private readonly MattermostOptions _options;
    private readonly ILogger _logger;
    private readonly ChannelWriter<StreamItem> _output;
    private bool _overflowed;
    private readonly Lock _gate = new();
    private readonly WebsocketClient _client;
    private readonly CancellationTokenSource _cts = new();
    private Task? _pingTask;
    private string? _connectionId;
    private long _nextSeq;
    private long _requestSeq;
    private long _authSeq;
    private long _lastPongAt;
    private TimeSpan _errorDelay;
    private volatile bool _connected;
    private bool _authenticatedSinceConnect;
    private readonly Bridge.Core.Connectors.ConnectionHistory? _history;

    public MattermostEventStream(Uri serverUrl, string token, MattermostOptions options, ILogger logger, ChannelWriter<StreamItem> output,
        Bridge.Core.Connectors.ConnectionHistory? history = null)
    {
        _history = history;
        var ws = new UriBuilder(serverUrl) { Scheme = serverUrl.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        ws.Path = ws.Path.TrimEnd('/') + "/api/v4/websocket";
        _baseWsUri = ws.Uri;
        _token = token;
        _options = options;
        _logger = logger;
        _output = output;
        _errorDelay = options.ReconnectMinDelay;
        _client = new WebsocketClient(_baseWsUri)
        {
            Name = "mattermost",
            IsReconnectionEnabled = true,
            // A backstop only: the ping loop notices a dead connection after one unanswered ping.
            ReconnectTimeout = options.PingInterval * 2 + TimeSpan.FromSeconds(5),
            ErrorReconnectTimeout = options.ReconnectMinDelay,
            LostReconnectTimeout = options.ReconnectMinDelay,
        };
        // An exception escaping an Rx handler would end the subscription for good: contain every one.
        _client.ReconnectionHappened.Subscribe(i => Guarded(() => OnReconnected(i)));
        _client.DisconnectionHappened.Subscribe(i => Guarded(() => OnDisconnected(i)));
        _client.MessageReceived.Subscribe(m => Guarded(() => OnMessage(m)));
    }

    private void Guarded(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            _logger.LogError(MattermostLog.WebSocketState, e, "Unexpected Mattermost WebSocket frame or state; continuing");
        }
    }

    /// <summary>True once the server accepted the token on the current socket.</summary>
    public bool IsConnected => _connected;

    public string? ConnectionId
    {
        get
        {
            lock (_gate)
            {
                return _connectionId;
            }
        }
    }

    public async Task StartAsync()
    {
        await _client.Start();
        _pingTask = Task.Run(() => PingLoopAsync(_cts.Token));
    }

    /// <summary>Drops the socket and reconnects (resuming); used after a missed pong.</summary>
    public Task ReconnectAsync() => _client.Reconnect();

    private void OnReconnected(ReconnectionInfo info)
    {
        lock (_gate)
        {
            _requestSeq = 0;
            _authSeq = ++_requestSeq;
            Interlocked.Exchange(ref _lastPongAt, Environment.TickCount64);
        }
        _logger.LogInformation(MattermostLog.WebSocketState, "Mattermost WebSocket connected ({Type}) to {Url}", info.Type, _client.Url);
        _client.Send(new JsonObject
        {
            ["seq"] = _authSeq,
            ["action"] = "authentication_challenge",
            ["data"] = new JsonObject { ["token"] = _token },
        }.ToJsonString());
    }

    private void OnDisconnected(DisconnectionInfo info)
    {
        _connected = false;
        if (info.Type is not (DisconnectionType.Exit or DisconnectionType.ByUser))
        {
            _history?.Failed($"WebSocket disconnected ({info.Type}){(info.Exception is { } e ? ": " + e.Message : "")}");
        }

        lock (_gate)
        {
            // Ask the server to resume where we stopped; it replays what it still has, or starts over with a new hello.
            _client.Url = _connectionId is null
                ? _baseWsUri
                : new Uri($"{_baseWsUri}?connection_id={Uri.EscapeDataString(_connectionId)}&sequence_number={_nextSeq.ToString(CultureInfo.InvariantCulture)}");
            // Back off while connections keep failing or keep being refused before authentication
            // (server down, token revoked); a healthy connection that drops reconnects at once.
            _errorDelay = _authenticatedSinceConnect
                ? _options.ReconnectMinDelay
                : TimeSpan.FromTicks(Math.Min(_errorDelay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
            _client.ErrorReconnectTimeout = _errorDelay;
            _client.LostReconnectTimeout = _errorDelay;
            _authenticatedSinceConnect = false;
        }
        if (info.Type is not DisconnectionType.Exit and not DisconnectionType.ByUser)
        {
            _logger.LogWarning(MattermostLog.WebSocketState, "Mattermost WebSocket lost ({Type}: {Error}); reconnecting", info.Type, info.Exception?.Message ?? info.CloseStatusDescription);
        }
    }

    internal void OnMessage(ResponseMessage message)
    {
        // Any frame shows the connection is alive (the ping loop waits for one after each ping).
        Interlocked.Exchange(ref _lastPongAt, Environment.TickCount64);
        if (message.MessageType != WebSocketMessageType.Text || message.Text is null)
        {
            return;
        }
        JsonObject? msg;
        try
        {
            msg = JsonNode.Parse(message.Text, documentOptions: StrictJson) as JsonObject;
            CheckReadable(msg);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Dropped here rather than failing later in the connector; a dropped event shows as a seq gap (catch-up).
            _logger.LogWarning(MattermostLog.WebSocketState, "Ignored a malformed Mattermost WebSocket frame: {Error}", e.Message);
            return;
        }
        if (msg is null)
        {
            return;
        }
        if (msg["seq_reply"] is JsonValue reply && reply.TryGetValue<long>(out var replySeq))
        {
            Interlocked.Exchange(ref _lastPongAt, Environment.TickCount64);
            if (replySeq == _authSeq && Str(msg["status"]) == "OK")
            {
                _connected = true;
                _history?.Connected();
                lock (_gate)
                {
                    _authenticatedSinceConnect = true;
                }
            }
            return;
        }
        var name = Str(msg["event"]);
        if (name is null || msg["seq"] is not JsonValue seqNode || !seqNode.TryGetValue<long>(out var seq))
        {
            return;
        }
        Interlocked.Exchange(ref _lastPongAt, Environment.TickCount64);
        var data = msg["data"] as JsonObject ?? [];
        if (name == "typing" && data["channel_id"] is null)
        {
            data["channel_id"] = Str(msg["broadcast"]?["channel_id"]); // typing names its channel only in the broadcast
        }
        lock (_gate)
        {
            if (name == "hello")
            {
                var id = Str(data["connection_id"]);
                var previous = _connectionId;
                _connectionId = id;
                _nextSeq = seq + 1;
                _connected = true;
                _authenticatedSinceConnect = true;
                // A hello means a fresh server-side connection: whatever happened since the last one is not replayed.
                var reason = previous is null ? "first connection" : $"server could not resume {previous} (new connection {id})";
                _logger.LogInformation(MattermostLog.WebSocketState, "Mattermost hello: {Reason}", reason);
                Emit(new StreamItem.Resync(reason));
                return;
            }
            if (seq != _nextSeq)
            {
                _logger.LogWarning(MattermostLog.SequenceGap, "Mattermost event seq {Seq}, expected {Expected}: catching up over REST", seq, _nextSeq);
                Emit(new StreamItem.Resync($"sequence gap {_nextSeq}..{seq}"));
            }
            _nextSeq = seq + 1;
            Emit(new StreamItem.Event(name, data, seq));
        }
    }

    /// <summary>
    /// Hands an item to the reader. A bounded queue that is full drops the item; the next item that fits is then
    /// preceded by a resync, so what was dropped is caught up over REST rather than lost.
    /// </summary>
    private void Emit(StreamItem item)
    {
        if (_overflowed)
        {
            if (!_output.TryWrite(new StreamItem.Resync("events dropped: the reader's queue was full")))
            {
                return;
            }

            _overflowed = false;
        }

        if (!_output.TryWrite(item))
        {
            _overflowed = true;
            _logger.LogWarning(MattermostLog.SequenceGap, "Mattermost event queue full: event dropped, to be caught up over REST");
        }
    }

    /// <summary>A string field, or null when absent or not a string (a number there would otherwise throw).</summary>
    private static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// Reads every key and string once: System.Text.Json defers decoding them, and a lone surrogate escape would
    /// otherwise throw wherever the connector first touches it.
    /// </summary>
    private static void CheckReadable(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    CheckReadable(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    CheckReadable(child);
                }

                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                _ = value.GetValue<string>();
                break;
        }
    }

    /// <summary>
    /// Every <see cref="MattermostOptions.PingInterval"/>, an application ping (<c>{"action":"ping"}</c>, which the server
    /// answers with a <c>seq_reply</c>); when nothing at all arrives within <see cref="MattermostOptions.PongTimeout"/>
    /// the connection is dead (a partition sends no FIN, and TCP may take many minutes to give up): the socket is
    /// aborted and a new one resumes (or catches up over REST after a new hello).
    /// </summary>
    private async Task PingLoopAsync(CancellationToken ct)
    {
        var pongTimeout = PongTimeout(_options);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(_options.PingInterval, ct);
                if (!_connected)
                {
                    continue;
                }

                long seq;
                lock (_gate)
                {
                    seq = ++_requestSeq;
                }

                var sentAt = Environment.TickCount64;
                _client.Send(new JsonObject { ["seq"] = seq, ["action"] = "ping" }.ToJsonString());
                await Task.Delay(pongTimeout, ct);
                if (!_connected || Interlocked.Read(ref _lastPongAt) >= sentAt)
                {
                    continue; // answered (any frame counts), or already being replaced
                }

                _logger.LogWarning(MattermostLog.WebSocketDead,
                    "Mattermost WebSocket found dead: no pong within {Timeout} of ping {Seq}; aborting it and reconnecting", pongTimeout, seq);
                _connected = false;
                await _client.Reconnect();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The wait for an answer to a ping; never longer than the interval, so pings do not overlap.</summary>
    internal static TimeSpan PongTimeout(MattermostOptions options) =>
        options.PongTimeout < options.PingInterval ? options.PongTimeout : options.PingInterval;

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        if (_pingTask is not null)
        {
            await _pingTask;
        }
        try
        {
            await _client.Stop(WebSocketCloseStatus.NormalClosure, "bridge stopping");
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        _client.Dispose();
        _cts.Dispose();
    }
}
