using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.Model;

namespace Sandbox.Mattermost.WebSockets;

/// <summary>GET /api/v4/websocket: authentication (header or challenge), actions, resume by connection_id + sequence_number.</summary>
internal sealed class WsEndpoint(SandboxState state, WsHub hub, Func<string> version)
{
    private const int MaxFrameBytes = 8 * 1024;
    private static readonly TimeSpan AuthTimeout = TimeSpan.FromSeconds(5);

    public async Task HandleAsync(HttpContext ctx)
    {
        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            throw new MmApiException(400, "api.web_socket.connect.upgrade.app_error", "Failed to upgrade websocket connection.");
        }
        var q = ctx.Request.Query;
        var requestedId = q["connection_id"].ToString();
        long? requestedSeq = long.TryParse(q["sequence_number"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : null;

        using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
        var link = new WsLink(socket);
        if (requestedId.Length > 0 && requestedSeq is null)
        {
            // "sequence number not present": the server just closes.
            await link.CloseAsync(WebSocketCloseStatus.PolicyViolation, ctx.RequestAborted);
            return;
        }

        WsConnection? conn = null;
        var actor = HttpPipeline.TryActor(ctx);
        if (actor is not null)
        {
            conn = hub.Register(actor.Id, requestedId, requestedSeq, link);
        }

        using var authTimer = new CancellationTokenSource(AuthTimeout);
        using var authReg = authTimer.Token.Register(() =>
        {
            if (Volatile.Read(ref conn) is null)
            {
                link.Abort();
            }
        });

        try
        {
            var buffer = new byte[MaxFrameBytes + 1];
            while (!link.Aborted.IsCancellationRequested)
            {
                var text = await ReceiveTextAsync(socket, buffer, link.Aborted);
                if (text is null)
                {
                    break;
                }
                JsonObject? msg;
                try
                {
                    msg = JsonNode.Parse(text) as JsonObject;
                }
                catch (JsonException)
                {
                    msg = null;
                }
                if (msg is null)
                {
                    continue;
                }
                var seq = msg["seq"] is JsonValue sv && sv.TryGetValue<long>(out var n) ? n : 0;
                var action = msg["action"] is JsonValue av && av.TryGetValue<string>(out var a) ? a : "";
                var data = msg["data"] as JsonObject ?? [];

                if (conn is null)
                {
                    if (action == "authentication_challenge")
                    {
                        var token = data["token"] is JsonValue tv && tv.TryGetValue<string>(out var t) ? t : null;
                        var auth = state.Authenticate(token);
                        if (auth is null)
                        {
                            await link.CloseAsync(WebSocketCloseStatus.NormalClosure, CancellationToken.None);
                            return;
                        }
                        link.Send(Reply(seq, "OK"));
                        Volatile.Write(ref conn, hub.Register(auth.Value.User.Id, requestedId, requestedSeq, link));
                    }
                    else
                    {
                        link.Send(Fail(seq, 401, "api.web_socket_router.not_authenticated.app_error", "No websocket authentication session found"));
                    }
                    continue;
                }
                HandleAction(conn, link, seq, action, data);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            if (conn is not null)
            {
                hub.Detach(conn, link);
            }
            link.Abort();
        }
    }

    private void HandleAction(WsConnection conn, WsLink link, long seq, string action, JsonObject data)
    {
        if (seq <= 0)
        {
            link.Send(Fail(seq, 400, "api.web_socket_router.bad_seq.app_error", "Invalid sequence for WebSocket message."));
            return;
        }
        if (action.Length == 0)
        {
            link.Send(Fail(seq, 400, "api.web_socket_router.no_action.app_error", "No websocket action."));
            return;
        }
        switch (action)
        {
            case "authentication_challenge":
                return; // already authenticated: ignored, no reply
            case "ping":
                link.Send(Reply(seq, "OK", new JsonObject
                {
                    ["text"] = "pong",
                    ["version"] = state.Settings.ServerVersion,
                    ["server_time"] = state.Now(),
                    ["node_id"] = "",
                }));
                return;
            case "user_typing":
                try
                {
                    var channelId = data["channel_id"]?.GetValue<string>() ?? "";
                    var parentId = data["parent_id"]?.GetValue<string>() ?? "";
                    state.PublishTyping(state.GetUser(conn.UserId), channelId, parentId);
                    link.Send(Reply(seq, "OK"));
                }
                catch (MmApiException e)
                {
                    link.Send(Fail(seq, e.StatusCode, e.ErrorId, e.Message));
                }
                return;
            case "get_statuses":
            case "get_statuses_by_ids":
                link.Send(Reply(seq, "OK", []));
                return;
            case "presence":
                link.Send(Reply(seq, "OK"));
                return;
            default:
                link.Send(Fail(seq, 500, "api.web_socket_router.bad_action.app_error", "Unknown WebSocket action."));
                return;
        }
    }

    private static string Reply(long seq, string status, JsonObject? data = null)
    {
        var o = new JsonObject { ["status"] = status };
        if (seq > 0)
        {
            o["seq_reply"] = seq;
        }
        if (data is not null)
        {
            o["data"] = data;
        }
        return o.ToJsonString();
    }

    private static string Fail(long seq, int status, string id, string message)
    {
        var o = new JsonObject { ["status"] = "FAIL" };
        if (seq > 0)
        {
            o["seq_reply"] = seq;
        }
        o["error"] = new JsonObject { ["id"] = id, ["message"] = message, ["detailed_error"] = "", ["status_code"] = status };
        return o.ToJsonString();
    }

    private static async Task<string?> ReceiveTextAsync(WebSocket socket, byte[] buffer, CancellationToken ct)
    {
        var count = 0;
        while (true)
        {
            if (count >= buffer.Length)
            {
                // SocketMaxMessageSizeKb: the server drops the connection on an oversize frame.
                return null;
            }
            var r = await socket.ReceiveAsync(buffer.AsMemory(count), ct);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }
            count += r.Count;
            if (r.EndOfMessage)
            {
                return r.MessageType == WebSocketMessageType.Text ? Encoding.UTF8.GetString(buffer, 0, count) : "";
            }
        }
    }

    public string Version => version();
}
