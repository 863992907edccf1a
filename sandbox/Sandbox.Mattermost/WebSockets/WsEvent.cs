using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.WebSockets;

/// <summary>
/// One server event before it is given its per-connection seq. <see cref="AdminData"/> is the copy that sysadmins get
/// (post_deleted carries delete_by only for them).
/// </summary>
internal sealed record WsEvent(string Event, JsonObject Data, WsBroadcast Broadcast, JsonObject? AdminData = null);

internal sealed record WsBroadcast(string UserId = "", string ChannelId = "", string TeamId = "", IReadOnlyCollection<string>? OmitUsers = null)
{
    public JsonObject ToJson()
    {
        JsonNode? omit = null;
        if (OmitUsers is { Count: > 0 })
        {
            var o = new JsonObject();
            foreach (var u in OmitUsers)
            {
                o[u] = true;
            }
            omit = o;
        }
        return new JsonObject
        {
            ["omit_users"] = omit,
            ["user_id"] = UserId,
            ["channel_id"] = ChannelId,
            ["team_id"] = TeamId,
            ["connection_id"] = "",
            ["omit_connection_id"] = "",
        };
    }
}
