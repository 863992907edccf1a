using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bridge.Matrix.Formatting;

/// <summary>
/// Reads a string out of homeserver JSON without throwing. System.Text.Json refuses (throws on read) a string whose
/// escapes make a lone surrogate (<c>"\ud800"</c>); any sender can put one in an event, and an exception there fails the
/// whole transaction, which the homeserver then retries forever. Such a string is read with U+FFFD in place of the
/// lone surrogate, as the UTF-8 decoder does for bad bytes.
/// </summary>
internal static class JsonStrings
{
    /// <summary>The string value of a node, or null when it is absent or not a string.</summary>
    public static string? Of(JsonNode? node)
    {
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return value.GetValue<string>();
        }
        catch (InvalidOperationException)
        {
            return Unescape(value.ToJsonString());
        }
    }

    /// <summary>
    /// The JSON text with every <c>\uXXXX</c> escape of a lone surrogate replaced by <c>\uFFFD</c> (same length), in
    /// keys too: System.Text.Json throws on such a key when the object is first read, not while parsing, and a
    /// transaction that throws is refused and retried by the homeserver forever. Returns the input when there is none.
    /// </summary>
    public static byte[] WithoutLoneSurrogates(byte[] json)
    {
        byte[]? copy = null;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var b = json[i];
            if (!inString)
            {
                inString = b == (byte)'"';
                continue;
            }

            if (b == (byte)'"')
            {
                inString = false;
            }
            else if (b == (byte)'\\' && i + 1 < json.Length)
            {
                if (json[i + 1] == (byte)'u' && Escaped(json, i) is { } unit && char.IsSurrogate(unit))
                {
                    var paired = char.IsHighSurrogate(unit) && Escaped(json, i + 6) is { } next && char.IsLowSurrogate(next);
                    if (paired)
                    {
                        i += 11;
                        continue;
                    }

                    copy ??= (byte[])json.Clone();
                    "\\uFFFD"u8.CopyTo(copy.AsSpan(i));
                    i += 5;
                    continue;
                }

                i++; // the escaped character, which may be a quote
            }
        }

        return copy ?? json;
    }

    private static char? Escaped(byte[] json, int at) =>
        at + 6 <= json.Length && json[at] == (byte)'\\' && json[at + 1] == (byte)'u'
        && ushort.TryParse(json.AsSpan(at + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var unit)
            ? (char)unit
            : null;

    /// <summary>Decodes a JSON string literal (with its quotes), replacing lone surrogates with U+FFFD.</summary>
    private static string Unescape(string literal)
    {
        var sb = new StringBuilder(literal.Length);
        for (var i = 1; i < literal.Length - 1; i++)
        {
            var c = literal[i];
            if (c != '\\' || i + 1 >= literal.Length - 1)
            {
                sb.Append(c);
                continue;
            }

            var e = literal[++i];
            switch (e)
            {
                case 'u' when i + 4 < literal.Length - 1 && ushort.TryParse(literal.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var unit):
                    sb.Append((char)unit);
                    i += 4;
                    break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                default: sb.Append(e); break;
            }
        }

        for (var i = 0; i < sb.Length; i++)
        {
            if (char.IsHighSurrogate(sb[i]) && i + 1 < sb.Length && char.IsLowSurrogate(sb[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(sb[i]))
            {
                sb[i] = '\uFFFD';
            }
        }

        return sb.ToString();
    }
}
