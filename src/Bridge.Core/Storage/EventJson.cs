using System.Text.Json;
using System.Text.Json.Serialization;
using Bridge.Core.Model;

namespace Bridge.Core.Storage;

/// <summary>How events are persisted in outbox rows: plain JSON, enums as names so rows stay readable across versions.</summary>
public static class EventJson
{
    public static string Serialize(BridgeEvent e) => JsonSerializer.Serialize(e, EventJsonContext.Default.BridgeEvent);

    public static BridgeEvent Deserialize(string json) =>
        JsonSerializer.Deserialize(json, EventJsonContext.Default.BridgeEvent) ?? throw new JsonException("empty event payload");
}

/// <summary>
/// The event's JSON contract, generated at build time (no reflection at run time, so it also works trimmed and under
/// Native AOT): web defaults (camelCase), enums as their names, nulls left out.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BridgeEvent))]
internal sealed partial class EventJsonContext : JsonSerializerContext;
