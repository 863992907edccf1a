using System.Net;
using System.Text.Json.Nodes;
using Bridge.Matrix.Client;
using Microsoft.Extensions.Logging;

namespace Bridge.Matrix.Connector;

/// <summary>Threads: a message the homeserver refuses to put in a thread still arrives, as a reply.</summary>
public sealed partial class MatrixConnector
{
    /// <summary>
    /// Sends one message event. When it is in a thread and the homeserver refuses the thread (Synapse answers 400 when
    /// the root is itself a relation, unknown, or in another room, which a root mapped from another network can be),
    /// it is sent again as a plain reply to the same event rather than lost.
    /// </summary>
    private async Task<string> SendInThreadAsync(string roomId, string txnId, JsonObject content, string puppet, DateTimeOffset timestamp, long outboxId,
        CancellationToken ct)
    {
        try
        {
            return await Client.SendEventAsync(roomId, "m.room.message", txnId, content, puppet, timestamp, ct);
        }
        catch (MatrixApiException ex) when (ex.Status == HttpStatusCode.BadRequest && ex.ErrCode is "M_UNKNOWN" or "M_BAD_JSON" or "M_INVALID_PARAM"
            && content["m.relates_to"] is JsonObject relates && relates["rel_type"]?.GetValue<string>() == "m.thread")
        {
            _logger.LogWarning(MatrixLog.ThreadRefused, "The homeserver refused outbox {Id} in the thread of {Root} ({Error}); sent as a reply", outboxId,
                relates["event_id"]?.GetValue<string>(), ex.Message);
            var reply = (JsonObject)content.DeepClone();
            var answered = relates["m.in_reply_to"]?["event_id"]?.GetValue<string>() ?? relates["event_id"]?.GetValue<string>();
            reply["m.relates_to"] = new JsonObject { ["m.in_reply_to"] = new JsonObject { ["event_id"] = answered } };
            return await Client.SendEventAsync(roomId, "m.room.message", txnId, reply, puppet, timestamp, ct);
        }
    }
}
