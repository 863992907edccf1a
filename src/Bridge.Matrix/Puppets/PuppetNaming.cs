using System.Security.Cryptography;
using System.Text;
using Bridge.Core.Model;

namespace Bridge.Matrix.Puppets;

/// <summary>
/// Puppet localparts. New puppets are <c>{prefix}{network}_{handle}_{suffix}</c>: the person's handle at first sight
/// (their Mattermost username, Matrix localpart or XMPP nick, folded by <see cref="HandleSlug"/>), and
/// <see cref="PuppetSuffix"/> of their key, so the id reads well, is one per person and says nothing the source room
/// did not show. Puppets made by older versions used <see cref="LegacyLocalpart"/> (the escaped user id); the
/// connector keeps those for people it already knows, so no existing puppet is renamed.
/// </summary>
internal static class PuppetNaming
{
    private const int MaxLocalpart = 200;
    private const int MaxHandle = 24;
    public const int SuffixLength = 5;

    /// <summary>The localpart a new puppet of <paramref name="person"/> gets (all within <c>[a-z0-9._=-]</c>).</summary>
    public static string Localpart(string prefix, PersonRef person)
    {
        var handle = HandleSlug.Of(PuppetSuffix.ReadableBase(person));
        handle = (handle.Length > MaxHandle ? handle[..MaxHandle] : handle).Trim('_', '.', '-');
        var network = Escape(person.NetworkId);
        var localpart = prefix + network + "_" + (handle.Length > 0 ? handle + "_" : "") + PuppetSuffix.For(person, SuffixLength);
        return localpart.Length <= MaxLocalpart ? localpart : localpart[..(MaxLocalpart - SuffixLength - 1)] + "_" + PuppetSuffix.For(person, SuffixLength);
    }

    /// <summary>The localpart older versions gave a person (escaped user id): looked up, never given to anyone new.</summary>
    public static string LegacyLocalpart(string prefix, string networkId, string userId)
    {
        var localpart = prefix + Escape(networkId) + "_" + Escape(userId);
        if (localpart.Length <= MaxLocalpart)
        {
            return localpart;
        }

        // Very long ids (user ids are capped at 255 characters): keep a readable head and a hash for uniqueness.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(networkId + "\n" + userId)))[..16];
        return localpart[..(MaxLocalpart - 17)] + "=" + hash;
    }

    public static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            switch (c)
            {
                case (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-':
                    sb.Append(c);
                    break;
                case >= 'A' and <= 'Z':
                    sb.Append('_').Append(char.ToLowerInvariant(c));
                    break;
                case '_':
                    sb.Append("__");
                    break;
                default:
                    sb.Append('=').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    break;
            }
        }

        return sb.ToString();
    }
}
