using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bridge.Core.Audit;
using Bridge.Core.Storage;

namespace Bridge.Policy.Tests;

/// <summary>
/// The audit hash is over a fixed canonical form: the record's fields as one compact JSON array, in order, as
/// System.Text.Json's serialiser writes it with its defaults. The form is written without the serialiser now (issue 12:
/// it cost most of a seal); every trail written before must still verify, so the bytes may not move by one.
/// </summary>
public class AuditCanonicalFormTests
{
    public static TheoryData<string, string?> Texts => new()
    {
        { "plain", null },
        { "quotes \" and \\ backslash", "content with\nnewline\tand tab" },
        { "<script>&'+`", "html-sensitive <b>bold</b> & 'quoted'" },
        { "ünïcödé ✓ 漢字", "emoji 😀 and a lone surrogate \ud800 here" },
        { "controls \u0000\u0001\u001f\u007f\u2028\u2029", "" },
        { "", "zero-width \u200b joiner \u200d rtl \u202e" },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void The_hash_is_over_the_same_bytes_as_the_serialised_field_array(string text, string? content)
    {
        var draft = new AuditDraft
        {
            At = new DateTimeOffset(2026, 12, 7, 1, 2, 3, 456, TimeSpan.FromHours(2)).AddTicks(7),
            Kind = "decision", LinkId = "link " + text, EventKey = "net/" + text, SourceNetwork = "mm-a", SourcePerson = text,
            Destination = "xmpp-b/ops@conference.b", Decision = "redacted", RuleId = "links+redact:ssn", Label = "CUI",
            ContentHash = AuditChain.HashContent(text), Content = content,
        };
        foreach (var sequence in new[] { 1L, long.MaxValue, -1L })
        {
            Assert.Equal(Reference(AuditChain.Genesis, sequence, draft), AuditChain.ComputeHash(AuditChain.Genesis, sequence, draft));
        }
    }

    [Fact]
    public void A_record_from_before_keeps_its_hash()
    {
        // SHA-256 of ["abc",42,"1970-01-01T00:00:00.0000000Z","decision","","mm-a/p1","","","","delivered","","CUI","",null].
        var draft = new AuditDraft { At = DateTimeOffset.UnixEpoch, Kind = "decision", Decision = "delivered", EventKey = "mm-a/p1", Label = "CUI" };
        Assert.Equal("fa2bcfbd03a14245a39d797b611a7626b046f6f7b43a6bdf2749a508e76f9926", AuditChain.ComputeHash("abc", 42, draft));
    }

    /// <summary>The form as it was first written: a list of the fields through <see cref="JsonSerializer"/>.</summary>
    private static string Reference(string previousHash, long sequence, AuditDraft e)
    {
        var fields = new List<object?>
        {
            previousHash, sequence, e.At.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture),
            e.Kind, e.LinkId, e.EventKey, e.SourceNetwork, e.SourcePerson, e.Destination, e.Decision, e.RuleId, e.Label, e.ContentHash, e.Content,
        };
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(fields))));
    }
}
