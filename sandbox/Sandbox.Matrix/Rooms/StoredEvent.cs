using System.Text.Json.Nodes;

namespace Sandbox.Matrix.Rooms;

/// <summary>A persisted room event: its full federation-less JSON plus stream position and sending transaction.</summary>
internal sealed class StoredEvent
{
    public required long Position { get; init; }

    public required string EventId { get; init; }

    public required string RoomId { get; init; }

    public required string Type { get; init; }

    public string? StateKey { get; init; }

    public required string Sender { get; init; }

    /// <summary>The event as clients see it (room_id included); content is replaced when redacted.</summary>
    public required JsonObject Json { get; init; }

    /// <summary>The token that sent it and its client transaction id, echoed in <c>unsigned.transaction_id</c> to that sender only.</summary>
    public string? TokenKey { get; init; }

    public string? TxnId { get; init; }

    public JsonObject Content => (JsonObject)Json["content"]!;

    public long OriginServerTs => Json["origin_server_ts"]!.GetValue<long>();

    /// <summary>The event formatted for a client, optionally with the sender's transaction id.</summary>
    public JsonObject ToClient(string? requesterTokenKey, bool includeRoomId, long nowMs)
    {
        var copy = (JsonObject)Json.DeepClone();
        if (!includeRoomId)
        {
            copy.Remove("room_id");
        }

        var unsigned = copy["unsigned"] as JsonObject ?? new JsonObject();
        unsigned["age"] = Math.Max(0, nowMs - OriginServerTs);
        if (TxnId is not null && requesterTokenKey is not null && requesterTokenKey == TokenKey)
        {
            unsigned["transaction_id"] = TxnId;
        }

        copy["unsigned"] = unsigned;
        return copy;
    }
}
