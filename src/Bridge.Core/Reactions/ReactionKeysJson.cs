using System.Text.Json;

namespace Bridge.Core.Reactions;

/// <summary>How a set's keys are kept in the stores: one JSON object, key → native id, keys in ordinal order.</summary>
internal static class ReactionKeysJson
{
    public static string Write(IReadOnlyDictionary<string, string> keys) =>
        JsonSerializer.Serialize(new SortedDictionary<string, string>(keys.ToDictionary(), StringComparer.Ordinal));

    public static Dictionary<string, string> Read(string json) =>
        new(JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [], StringComparer.Ordinal);
}
