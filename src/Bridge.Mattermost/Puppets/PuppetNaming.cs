using Bridge.Core.Model;

namespace Bridge.Mattermost.Puppets;

/// <summary>
/// Puppet usernames from the person's stable identity: <c>{prefix}{handle}-{suffix}</c>, where the handle is the
/// person's own short name at first sight (folded to a-z, 0-9 and '_') and the suffix is <see cref="PuppetSuffix"/>
/// of their key. Two people therefore never share a username, and since punctuation inside the handle is folded to
/// '_', two usernames never differ by punctuation alone (<c>bob.baker</c> and <c>Bob Baker</c> both read
/// <c>bob_baker</c>, and only the suffix tells them apart, which nobody can choose). Satisfies both the server
/// (<c>model.IsValidUsername</c>: 1–64 of [a-z0-9._-], not all/channel/matterbot/system) and the webapp's stricter
/// sign-up rule (3–22 characters, starting with a letter), so every client shows and mentions them.
/// </summary>
internal static class PuppetNaming
{
    public const int MaxLength = 22;
    public const int SuffixLength = 5;
    private static readonly HashSet<string> Reserved = ["all", "channel", "here", "matterbot", "system"];

    /// <summary>The username for <paramref name="person"/>; <paramref name="attempt"/> &gt; 0 when the first was taken.</summary>
    public static string Username(string prefix, PersonRef person, int attempt = 0)
    {
        var head = prefix.ToLowerInvariant();
        var handle = Sanitize(PuppetSuffix.ReadableBase(person)).Replace('.', '_').Replace('-', '_');
        if (!char.IsAsciiLetterLower((head + handle + "-")[0]))
        {
            head = "u" + head;
        }

        var room = Math.Max(0, MaxLength - head.Length - 1 - SuffixLength);
        handle = (handle.Length > room ? handle[..room] : handle).Trim('_');
        return (head + handle).TrimEnd('.', '-', '_') + "-" + PuppetSuffix.For(person, SuffixLength, attempt);
    }

    /// <summary>Whether a prefix leaves room for a readable handle and starts every name well.</summary>
    public static bool IsValidPrefix(string prefix) =>
        prefix.Length <= 10 && prefix.All(c => char.IsAsciiLetter(c) || char.IsAsciiDigit(c) || c is '.' or '-' or '_');

    public static bool IsValid(string name) =>
        name.Length is >= 3 and <= MaxLength && char.IsAsciiLetterLower(name[0]) && name[^1] != '.' && !Reserved.Contains(name)
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-' or '_');

    private static string Sanitize(string text) => HandleSlug.Of(text);
}
