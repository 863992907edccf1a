using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace Bridge.Core.Policy.Labels;

/// <summary>
/// Unicode NFKC and full case folding from the bridge's own tables (<see cref="UnicodeTables"/>). The daemon runs with
/// invariant globalization, where <see cref="string.Normalize()"/> returns its input unchanged and the invariant case
/// mapping leaves ı, İ and ſ alone, so neither can be used for rule R-C1.
/// </summary>
internal static class Nfkc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28;
    private const int NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly FrozenDictionary<int, int[]> Decompositions = ParseSequences(UnicodeTables.Decompositions);
    private static readonly FrozenDictionary<int, int[]> Folds = ParseSequences(UnicodeTables.CaseFolding);
    private static readonly FrozenDictionary<int, int> Classes = ParseClasses(UnicodeTables.CombiningClasses);
    private static readonly FrozenDictionary<long, int> Composites = ParseComposites(UnicodeTables.Compositions);

    /// <summary>The NFKC form of <paramref name="text"/>.</summary>
    public static string Normalize(string text)
    {
        if (IsAscii(text))
        {
            return text;
        }

        var cps = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            Decompose(rune.Value, cps);
        }

        ReorderCanonically(cps);
        Compose(cps);
        return FromCodePoints(cps);
    }

    /// <summary>True when NFKC leaves the code point alone (on its own), as for most letters of most scripts.</summary>
    public static bool IsStable(int cp) => !Decompositions.ContainsKey(cp) && !Classes.ContainsKey(cp) && !(cp is >= LBase and < LBase + LCount);

    /// <summary>Full case folding (Unicode CaseFolding.txt, statuses C and F): "İ" → "i̇", "ſ" → "s", "ß" → "ss".</summary>
    public static string CaseFold(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value < 0x80)
            {
                sb.Append(rune.Value is >= 'A' and <= 'Z' ? (char)(rune.Value + 32) : (char)rune.Value);
            }
            else if (Folds.TryGetValue(rune.Value, out var folded))
            {
                foreach (var cp in folded)
                {
                    sb.Append(char.ConvertFromUtf32(cp));
                }
            }
            else
            {
                sb.Append(rune.ToString());
            }
        }

        return sb.ToString();
    }

    private static bool IsAscii(string text)
    {
        foreach (var c in text)
        {
            if (c >= 0x80)
            {
                return false;
            }
        }

        return true;
    }

    private static void Decompose(int cp, List<int> into)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            var s = cp - SBase;
            into.Add(LBase + s / NCount);
            into.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0)
            {
                into.Add(TBase + s % TCount);
            }

            return;
        }

        if (Decompositions.TryGetValue(cp, out var mapped))
        {
            into.AddRange(mapped); // the table holds full (recursive) decompositions
        }
        else
        {
            into.Add(cp);
        }
    }

    private static int ClassOf(int cp) => Classes.TryGetValue(cp, out var c) ? c : 0;

    private static void ReorderCanonically(List<int> cps)
    {
        // Stable insertion sort of each run of non-starters by combining class.
        for (var i = 1; i < cps.Count; i++)
        {
            var cc = ClassOf(cps[i]);
            if (cc == 0)
            {
                continue;
            }

            var j = i;
            while (j > 0 && ClassOf(cps[j - 1]) > cc)
            {
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    private static void Compose(List<int> cps)
    {
        if (cps.Count < 2)
        {
            return;
        }

        var starter = -1;
        var lastClass = -1;
        var write = 0;
        for (var read = 0; read < cps.Count; read++)
        {
            var cp = cps[read];
            var cc = ClassOf(cp);
            if (starter >= 0 && (lastClass < cc || lastClass == 0 && write == starter + 1) && TryCompose(cps[starter], cp, out var composite))
            {
                cps[starter] = composite;
                continue;
            }

            if (cc == 0)
            {
                starter = write;
            }

            lastClass = cc;
            cps[write++] = cp;
        }

        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
            return true;
        }

        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            composite = first + (second - TBase);
            return true;
        }

        return Composites.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private static string FromCodePoints(List<int> cps)
    {
        var sb = new StringBuilder(cps.Count);
        foreach (var cp in cps)
        {
            if (cp <= 0xFFFF)
            {
                sb.Append((char)cp);
            }
            else
            {
                sb.Append(char.ConvertFromUtf32(cp));
            }
        }

        return sb.ToString();
    }

    private static IEnumerable<(string Key, string Value)> Entries(string[] chunks)
    {
        foreach (var chunk in chunks)
        {
            foreach (var entry in chunk.Split(';'))
            {
                var eq = entry.IndexOf('=', StringComparison.Ordinal);
                yield return (entry[..eq], entry[(eq + 1)..]);
            }
        }
    }

    private static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static FrozenDictionary<int, int[]> ParseSequences(string[] chunks) =>
        Entries(chunks).ToFrozenDictionary(e => Hex(e.Key), e => e.Value.Split(' ').Select(Hex).ToArray());

    private static FrozenDictionary<int, int> ParseClasses(string[] chunks) =>
        Entries(chunks).ToFrozenDictionary(e => Hex(e.Key), e => Hex(e.Value));

    private static FrozenDictionary<long, int> ParseComposites(string[] chunks) =>
        Entries(chunks).ToFrozenDictionary(e =>
        {
            var pair = e.Key.Split(' ');
            return ((long)Hex(pair[0]) << 21) | (uint)Hex(pair[1]);
        }, e => Hex(e.Value));
}
