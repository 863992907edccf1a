using System.Text.Json.Nodes;

namespace Sandbox.Matrix.Rooms;

/// <summary>The redaction algorithm (room versions 6–10): keep only the content keys the spec protects.</summary>
internal static class Redaction
{
    private static readonly Dictionary<string, string[]> KeptKeys = new(StringComparer.Ordinal)
    {
        ["m.room.member"] = ["membership", "join_authorised_via_users_server"],
        ["m.room.create"] = ["creator"],
        ["m.room.join_rules"] = ["join_rule", "allow"],
        ["m.room.power_levels"] = ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default", "invite"],
        ["m.room.history_visibility"] = ["history_visibility"],
    };

    public static void Apply(StoredEvent target, StoredEvent redaction)
    {
        var pruned = new JsonObject();
        if (KeptKeys.TryGetValue(target.Type, out var keep))
        {
            foreach (var key in keep)
            {
                if (target.Content[key] is { } value)
                {
                    pruned[key] = value.DeepClone();
                }
            }
        }

        target.Json["content"] = pruned;
        var unsigned = target.Json["unsigned"] as JsonObject ?? new JsonObject();
        unsigned["redacted_because"] = redaction.Json.DeepClone();
        target.Json["unsigned"] = unsigned;
    }
}
