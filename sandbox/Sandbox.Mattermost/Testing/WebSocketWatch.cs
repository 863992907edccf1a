using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Testing;

/// <summary>What a person's open WebSocket to the sandbox (or any Mattermost) sees, for tests.</summary>
public static class WebSocketWatch
{
    /// <summary>Reads frames until a <c>typing</c> event of <paramref name="userId"/> arrives (true) or the time is up (false).</summary>
    public static async Task<bool> SeesTypingAsync(ClientWebSocket ws, string userId, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(ws);
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var text = new StringBuilder();
                WebSocketReceiveResult r;
                do
                {
                    r = await ws.ReceiveAsync(buffer, cts.Token);
                    text.Append(Encoding.UTF8.GetString(buffer, 0, r.Count));
                }
                while (!r.EndOfMessage);
                var msg = JsonNode.Parse(text.ToString());
                if (msg?["event"]?.GetValue<string>() == "typing" && msg["data"]?["user_id"]?.GetValue<string>() == userId)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
