using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bridge.Core.Storage;

namespace Bridge.Core.Audit;

/// <summary>
/// The hash chain over audit records: each record's hash covers its own fields and the previous record's hash,
/// so editing, inserting or deleting any record breaks every hash after it. Every store and the verifier use this one definition.
/// </summary>
public static class AuditChain
{
    /// <summary>The previous hash of the first record.</summary>
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    public static string ComputeHash(string previousHash, long sequence, AuditDraft e)
    {
        ArgumentNullException.ThrowIfNull(e);
        // A JSON array gives an unambiguous, field-ordered encoding (no separator-injection between fields).
        var canonical = JsonSerializer.Serialize(new object?[]
        {
            previousHash,
            sequence,
            e.At.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture),
            e.Kind, e.LinkId, e.EventKey, e.SourceNetwork, e.SourcePerson, e.Destination,
            e.Decision, e.RuleId, e.Label, e.ContentHash, e.Content,
        });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>SHA-256 of a message's content, recorded instead of the content itself.</summary>
    public static string HashContent(string content) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    /// <summary>Checks a run of records in sequence order; returns the first broken one, or null when the chain holds.</summary>
    public static AuditVerification Verify(IEnumerable<AuditRecord> records, string expectedPrevious = Genesis, long expectedSequence = 1)
    {
        ArgumentNullException.ThrowIfNull(records);
        var previous = expectedPrevious;
        var next = expectedSequence;
        long count = 0;
        foreach (var r in records)
        {
            if (r.Sequence != next)
            {
                return new AuditVerification(false, count, r.Sequence, $"sequence {r.Sequence} where {next} was expected (a record was deleted or inserted)");
            }

            if (!string.Equals(r.PreviousHash, previous, StringComparison.Ordinal))
            {
                return new AuditVerification(false, count, r.Sequence, "previous-hash does not match the record before it");
            }

            var expected = ComputeHash(previous, r.Sequence, r.Entry);
            if (!string.Equals(expected, r.Hash, StringComparison.Ordinal))
            {
                return new AuditVerification(false, count, r.Sequence, "hash does not match the record's content (the record was altered)");
            }

            previous = r.Hash;
            next++;
            count++;
        }

        return new AuditVerification(true, count, null, null);
    }
}

public sealed record AuditVerification(bool Ok, long RecordsChecked, long? FirstBrokenSequence, string? Problem);
