using Bridge.Core.Model;
using Bridge.Core.Policy.Labels;

namespace Bridge.Policy.Tests;

/// <summary>
/// The classification standard (docs/policy.md, "Labels and markers"), case by case, in the coalition setting:
/// UNCLASSIFIED &lt; CUI &lt; SECRET; mm-a's default is CUI, matrix-b's and xmpp-c's UNCLASSIFIED.
/// Each row: the source's default, the text, the expected label and the rule that decided it.
/// </summary>
public class ClassificationStandardTests
{
    internal static readonly LabelOrder Coalition = LabelOrder.Create(["UNCLASSIFIED", "CUI", "SECRET"]);
    private const string U = "UNCLASSIFIED", C = "CUI", S = "SECRET";

    public static TheoryData<string, string, string, string> Texts => new()
    {
        // R-L3 strong tokens, R-C2 separators, R-P1 lowering by a strong marker
        { C, "[SECRET] hi", S, "R-L3" },
        { C, "hi", C, "default" },
        { U, "hi", U, "default" },
        { C, "[UNCLASSIFIED] from mm-a", U, "R-L3" },
        { U, "[UN-CLASSIFIED] x", U, "R-L3" },
        { U, "[C.U.I.] x", C, "R-L3" },
        { U, "[ S E C R E T ] x", S, "R-L3" },
        { U, "[c_u_i] x", C, "R-L3" },
        { U, "[C·U•I] x", C, "R-L3" },
        { U, "[docs](https://example.org) read", S, "R-L3" },
        { U, "- [ ] task", S, "R-L3" },
        { U, "[1] footnote", S, "R-L3" },
        { U, "[] empty", S, "R-L3" },
        { U, "[CONFIDENTIAL] other vocabulary", S, "R-L3" },
        { U, "[U] abbreviation", S, "R-L3" },
        { U, "[UNCLASS] abbreviation", S, "R-L3" },
        { U, "[CUI//SP-PRVCY] caveat", S, "R-L3" },
        { U, "\uFF3BCUI\uFF3D fullwidth", C, "R-L3" },
        { U, "\u3010CUI\u3011 lenticular", C, "R-L3" },
        { U, "\u27E6CUI\u27E7 white square", C, "R-L3" },
        { U, "\u2045CUI\u2046 quill", C, "R-L3" },
        { U, "\u2772CUI\u2773 tortoise", C, "R-L3" },
        { U, "\uFE47CUI\uFE48 vertical", C, "R-L3" },
        { U, "[CUI] [SECRET] stacked (R-L4)", S, "R-L3" },
        { C, "[UNCLASSIFIED][UNCLASSIFIED] stacked", U, "R-L3" },
        { U, "[CUI] [x] stacked unknown", S, "R-L3" },
        // R-L1 leading region
        { U, "FYI [CUI]", U, "default" },
        { U, "2 [SECRET] items", U, "default" },
        { U, "**[SECRET]** emphasis", S, "R-L3" },
        { U, "_[CUI]_ emphasis", C, "R-L3" },
        { U, "~~[CUI]~~ strike", C, "R-L3" },
        { U, "`[CUI]` code", C, "R-L3" },
        { U, "```\n[SECRET]\n```", S, "R-L3" },
        { U, "## [CUI] heading", C, "R-L3" },
        { U, "- [CUI] bullet", C, "R-L3" },
        { U, "* [CUI] bullet", C, "R-L3" },
        { U, "1. [SECRET] ordered", S, "R-L3" },
        { U, "12) [CUI] ordered", C, "R-L3" },
        { U, "<b>[SECRET]</b> tags in text", S, "R-L3" },
        { U, "\U0001F525 [SECRET] emoji", S, "R-L3" },
        { U, "\u2014 | \u2026 [CUI] punctuation", C, "R-L3" },
        { U, "\n\n   [CUI] after blank lines", C, "R-L3" },
        { U, "#\uFE0F\u20E3 [SECRET] keycap emoji (a mark is not a letter)", S, "R-L3" },
        { U, "\U00020000 [SECRET] a letter outside the BMP ends the region", U, "default" },
        { U, "\u0661 [SECRET] an Arabic-Indic digit ends the region", U, "default" },
        { U, "(hello) [SECRET] prose parentheses end the region", U, "default" },
        { U, "{ [SECRET] }", U, "default" },
        // R-L8 escapes
        { U, "\\[CUI\\] escaped", C, "R-L3" },
        { U, "\\*\\*[SECRET] escaped emphasis", S, "R-L3" },
        // R-L2 quoting: weak
        { U, "> [SECRET] quoted", S, "R-L2" },
        { C, "> [UNCLASSIFIED] quoted cannot lower", C, "default" },
        { U, "\"[CUI]\" said", C, "R-L2" },
        { U, "\u201C[CUI]\u201D said", C, "R-L2" },
        { U, "\u00AB[SECRET]\u00BB", S, "R-L2" },
        { U, "\u300C[CUI]\u300D", C, "R-L2" },
        { U, "Re: [SECRET] plans", S, "R-L2" },
        { U, "Fwd: SECRET: plans", S, "R-L2" },
        { U, "FW: (CUI) plans", C, "R-L2" },
        { U, "re: re: [CUI]", C, "R-L2" },
        { U, "> > **[CUI]**", C, "R-L2" },
        // R-L5 weak forms
        { U, "(SECRET) x", S, "R-L5" },
        { U, "(TOP SECRET) x", S, "R-L5" },
        { C, "(UNCLASSIFIED) x cannot lower", C, "default" },
        { U, "(cui) x", C, "R-L5" },
        { U, "(see below) x", U, "default" },
        { U, "SECRET: x", S, "R-L5" },
        { U, "cui - notes", C, "R-L5" },
        { U, "SECRET_plan.pdf", S, "R-L5" },
        { U, "SECRET", S, "R-L5" },
        { U, "CUI\nnext line", C, "R-L5" },
        { U, "SECRET//NOFORN", S, "R-L5" },
        { U, "CUI//SP-PRVCY details", S, "R-L5" },
        { U, "UNCLASSIFIED//FOUO", S, "R-L5" },
        { C, "UNCLASSIFIED: cannot lower", C, "default" },
        { U, "Secret santa on friday", U, "default" },
        { U, "cuisine tonight", U, "default" },
        { U, "Secrets", U, "default" },
        { U, "SECRETARY", U, "default" },
        { U, "**SECRET**: x", S, "R-L5" },
        // R-L6 later lines
        { U, "hello\n[SECRET] later line", S, "R-L6" },
        { U, "hello\n[SE\nCRET] a later token over a line break", S, "R-L6" },
        { U, "hello\n[\nSECRET\n] x", S, "R-L6" },
        { U, "hello\n[a\n[SECRET] x", S, "R-L6" },
        { U, "hello\u2028[SECRET] line separator", S, "R-L6" },
        { U, "hello\u2029[SECRET] paragraph separator", S, "R-L6" },
        { U, "hello\r[SECRET] a lone CR", S, "R-L6" },
        { U, "hello\u0085[SECRET] NEL", S, "R-L6" },
        { U, "hello\r\n[CUI] CR LF", C, "R-L6" },
        { U, "\uABAFUI: Cherokee small letter", C, "R-L5" },
        { U, "[CU\uA7AE] small capital I", C, "R-L3" },
        { U, "hello\n  - [CUI] later bullet", C, "R-L6" },
        { U, "hello\n[docs] ignored", U, "default" },
        { U, "code:\n[1, 2, 3]", U, "default" },
        { U, "hello\nSECRET: bare words on later lines are prose", U, "default" },
        { C, "[UNCLASSIFIED] hi\n[CUI] there", C, "R-L6" },
        { U, "[CUI]\n[SECRET] next line", S, "R-L6" },
        { U, "hello [CUI]\nworld [SECRET]", U, "default" },
        // R-L7 malformed
        { U, "[CUI hello", S, "R-L7" },
        { U, "]CUI[", S, "R-L7" },
        { U, "CUI] x", S, "R-L7" },
        { U, "CUI) x", S, "R-L7" },
        { U, "[[CUI]]", S, "R-L7" },
        { U, "> ]x", S, "R-L7" },
        // R-C1 look-alikes, invisibles, NFKC, case folding; ASCII substitutions are not folded
        { U, "[\u054FECRET] Armenian", S, "R-L3" },
        { U, "[C\u054DI] Armenian", C, "R-L3" },
        { U, "[\u0531NCLASSIFIED] Armenian", U, "R-L3" },
        { U, "[CU\u0130] Turkish dotted I", C, "R-L3" },
        { U, "[cu\u0131] dotless i", C, "R-L3" },
        { U, "[\u017FECRET] long s", S, "R-L3" },
        { U, "[\u03F9UI] lunate sigma", C, "R-L3" },
        { U, "[\u13DFUI] Cherokee", C, "R-L3" },
        { U, "[\uA4E2ECRET] Lisu", S, "R-L3" },
        { U, "[\u1D04\u1D1C\u026A] small capitals", C, "R-L3" },
        { U, "[\u0421U\u0406] Cyrillic", C, "R-L3" },
        { U, "[\u0405\u0395\u0421R\u0395\u0422] Cyrillic and Greek", S, "R-L3" },
        { U, "[C\u200DU\u00ADI\u202E] invisible", C, "R-L3" },
        { U, "[C\uFE0FU\U000E0041I\u3164] invisible extras", C, "R-L3" },
        { U, "\u200B\u2060[CUI] invisible lead", C, "R-L3" },
        { U, "[\U0001D412\U0001D404\U0001D402\U0001D411\U0001D404\U0001D413] mathematical bold", S, "R-L3" },
        { U, "[\u24B8\u24CA\u24BE] circled", C, "R-L3" },
        { U, "[S3CRET] digit for letter", S, "R-L3" },
        { U, "[CU1] digit for letter", S, "R-L3" },
        { U, "[CUl] l for I", S, "R-L3" },
        { U, "S\u200BECRET: invisible in a bare word", S, "R-L5" },
        { U, "\u0421UI: look-alike bare word", C, "R-L5" },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void Text_markers_follow_the_rules(string defaultLabel, string text, string expected, string rule)
    {
        var d = Coalition.Classifier.Classify([], [text], [], Rank(defaultLabel));
        Assert.Equal((expected, rule), (Coalition.Names[d.Rank], d.Rule));
    }

    public static TheoryData<string, string, string, string> Html => new()
    {
        { U, "<p><strong>[SECRET]</strong> x</p>", S, "R-L3" },
        { U, "&#91;CUI&#93; entity-encoded", C, "R-L3" },
        { U, "<p>hello</p><p>[SECRET] later</p>", S, "R-L6" },
        { U, "<blockquote>[SECRET] quoted</blockquote><p>mine</p>", S, "R-L2" },
        { U, "<mx-reply><blockquote>[SECRET] parent</blockquote></mx-reply>my answer", U, "default" },
        { U, "<span title=\"[SECRET]\">hello</span>", U, "default" },
        { U, "<!-- [SECRET] -->hello", U, "default" },
        { U, "<ol><li>[CUI] item</li></ol>", C, "R-L3" },
    };

    [Theory]
    [MemberData(nameof(Html))]
    public void Html_is_read_as_its_visible_text(string defaultLabel, string html, string expected, string rule)
    {
        var d = Coalition.Classifier.Classify([], [], [html], Rank(defaultLabel));
        Assert.Equal((expected, rule), (Coalition.Names[d.Rank], d.Rule));
    }

    public static TheoryData<string, string, string, string> Structured => new()
    {
        { "CUI", "plain text", C, "R-S1" },
        { "cui", "plain text", C, "R-S1" },
        { "UN-CLASSIFIED", "plain", U, "R-S1" },
        { "\u0421UI", "look-alike", C, "R-S1" },
        { "", "empty", S, "R-S1" },
        { "U", "abbreviation", S, "R-S1" },
        { "TOP SECRET", "unknown", S, "R-S1" },
        { "[SECRET]", "bracketed", S, "R-S1" },
        { "CUI//SP-PRVCY", "caveat", S, "R-S1" },
        { "null", "the word null", S, "R-S1" },
        { StructuredLabel.NotAString, "not a string", S, "R-S1" },
        { "CUI", "[UNCLASSIFIED] markers may not lower a structured label", C, "R-S1" },
        { "UNCLASSIFIED", "[SECRET] markers raise it", S, "R-L3" },
        { "UNCLASSIFIED", "(CUI) weak markers raise it", C, "R-L5" },
        { "CUI", "[CUI] same label: structured first", C, "R-S1" },
    };

    [Theory]
    [MemberData(nameof(Structured))]
    public void Structured_values_must_equal_a_known_label(string structured, string text, string expected, string rule)
    {
        // mm-a's default (CUI) never applies when a structured field is present.
        var d = Coalition.Classifier.Classify([structured], [text], [], Rank(C));
        Assert.Equal((expected, rule), (Coalition.Names[d.Rank], d.Rule));
    }

    [Theory]
    [InlineData("", "[SECRET] plan.pdf", S, "R-L3")]
    [InlineData("", "SECRET_plan.pdf", S, "R-L5")]
    [InlineData("[UNCLASSIFIED] photo", "SECRET_plan.pdf", S, "R-L5")]
    [InlineData("[UNCLASSIFIED] photo", "holiday.jpg", U, "R-L3")]
    [InlineData("[UNCLASSIFIED] photo", "[CUI] holiday.jpg", C, "R-L3")]
    [InlineData("", "holiday.jpg", C, "default")]
    public void Captions_and_file_names_are_pooled(string caption, string fileName, string expected, string rule)
    {
        var d = Coalition.Classifier.Classify([], [caption, fileName], [], Rank(C));
        Assert.Equal((expected, rule), (Coalition.Names[d.Rank], d.Rule));
    }

    [Theory]
    [InlineData("[SECRET] Alice", "Alice")]
    [InlineData("Alice [SECRET]", "Alice")]
    [InlineData("Alice \uFF3BS\u200BECRET\uFF3D", "Alice")]
    [InlineData("SECRET: Bob", "Bob")]
    [InlineData("Bob (TOP SECRET)", "Bob")]
    [InlineData("Cui Wei", "Cui Wei")]
    [InlineData("Carol (she/her)", "Carol (she/her)")]
    [InlineData("Dave [CUI", "Dave")]
    [InlineData("plain", "plain")]
    public void Markers_are_stripped_from_display_names(string name, string expected) =>
        Assert.Equal(expected, Coalition.Classifier.StripMarkers(name));

    [Theory]
    [InlineData("\u03F9", "c")]
    [InlineData("\u0130", "i")]
    [InlineData("\u017F", "s")]
    [InlineData("\uFF33\uFF25\uFF23", "sec")]
    [InlineData("\u00DF", "ss")]
    [InlineData("e\u0301", "\u00E9")]
    [InlineData("\uFB01", "fi")]
    [InlineData("\u1100\u1161", "\uAC00")]
    public void Canonical_form_folds_before_NFKC_then_case_folds(string input, string expected) =>
        Assert.Equal(expected, Canonicaliser.Canonical(input));

    [Fact]
    public void The_per_code_point_shortcut_equals_the_full_canonical_form()
    {
        // CanonicalText canonicalises code point by code point with shortcuts; they must agree with R-C1 in full.
        for (var cp = 0x80; cp < 0x20000; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            var rune = new System.Text.Rune(cp);
            var full = Canonicaliser.Canonical(rune.ToString());
            var fast = Canonicaliser.CanonicalRune(rune);
            if (!string.Equals(full, fast, StringComparison.Ordinal))
            {
                Assert.Fail($"U+{cp:X4}: \"{full}\" but the shortcut gives \"{fast}\"");
            }
        }
    }

    private static int Rank(string label) => Coalition.Names.ToList().IndexOf(label);
}
