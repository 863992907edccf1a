using System.Text;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// Structure-blind mutation of a seed corpus, as CsCheck generators (so failures shrink): each edit inserts a token of
/// the target's grammar, repeats one (deep nesting, huge attributes), deletes, duplicates or overwrites a range, or
/// inserts random characters (lone surrogates and controls included).
/// </summary>
internal static class Mutator
{
    private static readonly Gen<char> AnyChar = Gen.Frequency(
        (4, Gen.Char['\0', '\u007f']),
        (2, Gen.Char),
        (1, Gen.OneOf('\u200b', '\u200d', '\u00ad', '\u202e', '\u2060', '\ufeff', '\ud800', '\udfff', '\uffff', '\ufffe', '\u0085', '\u2028')));

    public static Gen<string> Strings(string[] corpus, string[] tokens, int maxEdits = 8) =>
        Gen.Select(Gen.Int[0, corpus.Length - 1], Edit(tokens).Array[0, maxEdits], (i, edits) => Apply(corpus[i], edits));

    public static Gen<string> Random(int maxLength) => AnyChar.Array[0, maxLength].Select(c => new string(c));

    /// <summary>Random text built from the grammar's tokens and random characters.</summary>
    public static Gen<string> Tokens(string[] tokens, int maxParts) =>
        Gen.Frequency((3, Gen.OneOf(tokens)), (1, Random(6))).Array[0, maxParts].Select(parts => string.Concat(parts));

    private static Gen<(int Kind, double At, int Length, string Payload)> Edit(string[] tokens) =>
        Gen.Select(Gen.Int[0, 6], Gen.Double[0, 1], Gen.Int[1, 24], Gen.Frequency((3, Gen.OneOf(tokens)), (1, Random(8))));

    public static string Apply(string text, (int Kind, double At, int Length, string Payload)[] edits)
    {
        var sb = new StringBuilder(text);
        foreach (var (kind, at, length, payload) in edits)
        {
            var pos = (int)(at * sb.Length);
            var len = Math.Min(length, sb.Length - pos);
            switch (kind)
            {
                case 0 or 1:
                    sb.Insert(pos, payload);
                    break;
                case 2:
                    sb.Remove(pos, len);
                    break;
                case 3:
                    sb.Insert(pos, sb.ToString(pos, len));
                    break;
                case 4:
                    sb.Remove(pos, len).Insert(pos, payload);
                    break;
                case 5:
                    // Many copies: deep nesting, huge attributes, long runs.
                    sb.Insert(pos, string.Concat(Enumerable.Repeat(payload, length * length)));
                    break;
                default:
                    if (pos < sb.Length)
                    {
                        sb[pos] = payload.Length > 0 ? payload[0] : '\0';
                    }

                    break;
            }
        }

        return sb.ToString();
    }

    /// <summary>True when the text has no lone surrogate.</summary>
    public static bool IsValidUtf16(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    public static string Show(string text) =>
        "\"" + string.Concat(text.Select(c => c is < ' ' or > '~' or '"' or '\\' ? $"\\u{(int)c:x4}" : c.ToString())) + "\"";
}
