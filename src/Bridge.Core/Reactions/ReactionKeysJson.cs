using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bridge.Core.Reactions;

/// <summary>How a set's keys are kept in the stores: one JSON object, key → native id, keys in ordinal order.</summary>
internal static class ReactionKeysJson
{
    public static string Write(IReadOnlyDictionary<string, string> keys) =>
        JsonSerializer.Serialize(new SortedDictionary<string, string>(keys.ToDictionary(), StringComparer.Ordinal), ReactionKeysJsonContext.Default.SortedDictionaryStringString);

    public static Dictionary<string, string> Read(string json) =>
        new(JsonSerializer.Deserialize(json, ReactionKeysJsonContext.Default.DictionaryStringString) ?? [], StringComparer.Ordinal);
}

/// <summary>The default JSON options, generated at build time (no reflection at run time).</summary>
[JsonSerializable(typeof(SortedDictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ReactionKeysJsonContext : JsonSerializerContext;
