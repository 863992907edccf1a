namespace Bridge.Mattermost.Text;

/// <summary>Mattermost reactions are shortcodes; other networks send Unicode emoji. A small two-way table of common ones.</summary>
internal static class EmojiMap
{
    private static readonly (string Unicode, string Name)[] Pairs =
    [
        ("👍", "+1"), ("👎", "-1"), ("❤️", "heart"), ("❤", "heart"), ("😄", "smile"), ("😀", "grinning"), ("😂", "joy"),
        ("🎉", "tada"), ("😮", "open_mouth"), ("😢", "cry"), ("🙏", "pray"), ("👀", "eyes"), ("🔥", "fire"), ("✅", "white_check_mark"),
        ("👏", "clap"), ("🚀", "rocket"), ("😉", "wink"), ("🙂", "slightly_smiling_face"), ("😆", "laughing"), ("🤔", "thinking_face"),
        ("👋", "wave"), ("💯", "100"), ("⭐", "star"), ("❌", "x"), ("👌", "ok_hand"), ("😊", "blush"),
    ];

    private static readonly Dictionary<string, string> ToName = Pairs.GroupBy(p => p.Unicode).ToDictionary(g => g.Key, g => g.First().Name, StringComparer.Ordinal);
    private static readonly Dictionary<string, string> ToUnicode = Pairs.GroupBy(p => p.Name).ToDictionary(g => g.Key, g => g.First().Unicode, StringComparer.Ordinal);

    /// <summary>A Mattermost emoji name for a reaction key, or null when there is none.</summary>
    public static string? ToShortcode(string key)
    {
        var k = key.Trim();
        if (ToName.TryGetValue(k, out var name) || ToName.TryGetValue(k.Replace("\uFE0F", "", StringComparison.Ordinal), out name))
        {
            return name;
        }
        var bare = k.Trim(':');
        if (bare == "thumbsup")
        {
            return "+1";
        }
        return bare.Length is > 0 and <= 64 && bare.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '+' or '_') ? bare : null;
    }

    /// <summary>Whether <paramref name="key"/> is a Unicode emoji this table names (with or without its variation selector).</summary>
    public static bool HasName(string key)
    {
        var k = key.Trim();
        return ToName.ContainsKey(k) || ToName.ContainsKey(k.Replace("\uFE0F", "", StringComparison.Ordinal));
    }

    /// <summary>The Unicode emoji for a Mattermost name when known, else ":name:".</summary>
    public static string FromShortcode(string name) =>
        ToUnicode.TryGetValue(name, out var u) ? u : name == "thumbsup" ? "👍" : $":{name}:";
}
