using System.Security.Cryptography;
using System.Text;

namespace Bridge.Matrix.Puppets;

/// <summary>
/// Deterministic, reversible-enough puppet localparts: <c>{prefix}{network}_{user}</c> where each part is escaped
/// into the characters Matrix allows in a localpart (a-z, 0-9, <c>.</c>, <c>-</c>; <c>_</c> doubles, capitals become
/// <c>_x</c>, everything else <c>=hh</c> per UTF-8 byte).
/// </summary>
internal static class PuppetNaming
{
    private const int MaxLocalpart = 200;

    public static string Localpart(string prefix, string networkId, string userId)
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
