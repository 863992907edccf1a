using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Bridge.Xmpp.Protocol;

/// <summary>A parsed JID (local@domain/resource). Domain and local part are compared case-insensitively.</summary>
internal readonly record struct Jid(string? Local, string Domain, string? Resource)
{
    public Jid Bare => new(Local, Domain, null);

    public bool IsBare => Resource is null;

    public string BareString => Local is null ? Domain : $"{Local}@{Domain}";

    public override string ToString() => Resource is null ? BareString : $"{BareString}/{Resource}";

    public static bool TryParse(string? value, [NotNullWhen(true)] out Jid? jid)
    {
        jid = null;
        if (string.IsNullOrEmpty(value) || value.Length > 3071)
        {
            return false;
        }

        string? resource = null;
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var head = value;
        if (slash >= 0)
        {
            resource = value[(slash + 1)..];
            head = value[..slash];
            if (resource.Length == 0)
            {
                return false;
            }
        }

        string? local = null;
        var at = head.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            local = head[..at];
            head = head[(at + 1)..];
            // Nodeprep forbids these in a local part; our puppets carry them XEP-0106-escaped.
            if (local.Length == 0 || local.Length > 1023 || local.Any(c => c <= ' ' || "\"&'/:<>@".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        if (!IsValidDomain(head))
        {
            return false;
        }

        jid = new Jid(local?.ToLowerInvariant(), head.ToLowerInvariant(), resource);
        return true;
    }

    public static Jid Parse(string value) =>
        TryParse(value, out var jid) ? jid.Value : throw new FormatException($"not a JID: '{value}'");

    public static bool IsValidDomain(string? domain) =>
        !string.IsNullOrEmpty(domain) && domain.Length <= 253 &&
        domain.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '[' or ']' or ':') &&
        !domain.StartsWith('.') && !domain.EndsWith('.');

    public static bool BareEquals(Jid a, Jid b) =>
        string.Equals(a.Local, b.Local, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Domain, b.Domain, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// XEP-0106 JID escaping, plus the deterministic mapping from a person key to a puppet local part.
/// </summary>
internal static class JidEscaping
{
    private const string Escapable = " \"&'/:<>@\\";

    /// <summary>Escapes the ten XEP-0106 characters. A backslash is always escaped so that unescaping is unambiguous.</summary>
    public static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (Escapable.Contains(c, StringComparison.Ordinal))
            {
                sb.Append('\\').Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    public static string Unescape(string value)
    {
        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 3 <= value.Length && IsEscapeCode(value.AsSpan(i + 1, 2), out var c))
            {
                sb.Append(c);
                i += 2;
            }
            else
            {
                sb.Append(value[i]);
            }
        }

        return sb.ToString();
    }

    private static bool IsEscapeCode(ReadOnlySpan<char> hex, out char c)
    {
        c = '\0';
        if (!int.TryParse(hex, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var code))
        {
            return false;
        }

        c = (char)code;
        return Escapable.Contains(c, StringComparison.Ordinal);
    }

    /// <summary>
    /// The puppet local part for a person key (<c>network/user</c>): lower-cased ASCII, XEP-0106 escaped. Servers
    /// case-fold local parts (nodeprep), so a key that is not already lower-case ASCII gets a short hash of the exact key
    /// appended ("\2f" + hex, i.e. "/hash" unescaped) to keep distinct people distinct.
    /// </summary>
    public static string PuppetLocalPart(string personKey)
    {
        var lossy = false;
        var sb = new StringBuilder(personKey.Length);
        foreach (var c in personKey)
        {
            if (c is >= ' ' and <= '~')
            {
                var lower = char.ToLowerInvariant(c);
                lossy |= lower != c;
                sb.Append(lower);
            }
            else
            {
                lossy = true;
                sb.Append('_');
            }
        }

        var escaped = Escape(sb.ToString());
        if (escaped.Length > 400)
        {
            escaped = escaped[..400];
            var cut = escaped.LastIndexOf('\\');
            if (cut >= escaped.Length - 2)
            {
                escaped = escaped[..cut];
            }

            lossy = true;
        }

        if (lossy)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(personKey)))[..12];
            escaped += "\\2f" + hash;
        }

        return escaped;
    }
}
