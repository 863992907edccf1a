using System.Text.Json;
using System.Text.Json.Serialization;
using Bridge.Core.Model;

namespace Bridge.Core.Storage;

/// <summary>How events are persisted in outbox rows: plain JSON, enums as names so rows stay readable across versions.</summary>
public static class EventJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(BridgeEvent e) => JsonSerializer.Serialize(e, Options);

    public static BridgeEvent Deserialize(string json) =>
        JsonSerializer.Deserialize<BridgeEvent>(json, Options) ?? throw new JsonException("empty event payload");
}
