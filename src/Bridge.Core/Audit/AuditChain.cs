using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bridge.Core.Storage;

namespace Bridge.Core.Audit;

/// <summary>
/// The chain over audit records: each record's hash covers its own fields and the previous record's hash, so editing,
/// inserting or deleting any record breaks every hash after it. Every store and the verifier use this one definition.
/// </summary>
/// <remarks>
/// A plain SHA-256 chain only proves the records agree with each other: whoever can write the table can rewrite a record
/// and recompute every hash after it. With a key configured, records are MACed instead (HMAC-SHA256 with the key, the
/// key id inside the MACed text), so a rewrite needs the key. Records from before the key stay plain; the first keyed
/// record (a <see cref="KeyKind"/> record the store writes itself) marks the point after which every record must be keyed.
/// </remarks>
public static class AuditChain
{
    /// <summary>The previous hash of the first record.</summary>
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>The kind of the record a store writes when it starts MACing with a new key (first key or rotation).</summary>
    public const string KeyKind = "audit-key";

    public static string ComputeHash(string previousHash, long sequence, AuditDraft e)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        WriteCanonical(buffer, previousHash, sequence, e, null);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>The hash of a new record: a MAC with <paramref name="key"/> when there is one, else plain SHA-256.</summary>
    public static string Seal(string previousHash, long sequence, AuditDraft e, AuditKey? key) =>
        key is null ? ComputeHash(previousHash, sequence, e) : key.Mac(Canonical(previousHash, sequence, e, key.Id));

    /// <summary>
    /// The record a store appends before the first record it MACs with <paramref name="key"/>: after an unkeyed trail
    /// (<paramref name="previousKeyId"/> empty: the trail becomes keyed here) or after another key (a rotation).
    /// </summary>
    public static AuditDraft KeyRecord(AuditKey key, string previousKeyId, DateTimeOffset at) => new()
    {
        At = at,
        Kind = KeyKind,
        EventKey = $"audit-key/{(previousKeyId.Length == 0 ? "plain" : previousKeyId)}..{key.Id}",
        Decision = previousKeyId.Length == 0 ? "keyed-from" : "key-rotation",
        RuleId = "audit-key",
    };

    /// <summary>SHA-256 of a message's content, recorded instead of the content itself.</summary>
    public static string HashContent(string content) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    /// <summary>Checks a run of records in sequence order against plain hashes and the keys of <paramref name="keys"/>.</summary>
    public static AuditVerification Verify(IEnumerable<AuditRecord> records, string expectedPrevious = Genesis, long expectedSequence = 1, AuditKeyRing? keys = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        var checker = new AuditChainChecker(keys ?? AuditKeyRing.None, expectedPrevious, expectedSequence);
        foreach (var r in records)
        {
            if (checker.Check(r) is { } problem)
            {
                return new AuditVerification(false, checker.Checked, r.Sequence, problem);
            }
        }

        return new AuditVerification(true, checker.Checked, null, null);
    }

    private static byte[] Canonical(string previousHash, long sequence, AuditDraft e, string? keyId)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        WriteCanonical(buffer, previousHash, sequence, e, keyId);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A JSON array gives an unambiguous, field-ordered encoding (no separator-injection between fields). The key id is
    /// inside MACed records only, so plain records written before keys existed keep their hashes. Written field by field
    /// with the defaults the serialiser used (compact, its default encoder): the same bytes as serialising the list of
    /// fields, which every trail written so far was hashed over, at a fraction of the cost (issue 12's micro-benchmarks).
    /// </summary>
    private static void WriteCanonical(ArrayBufferWriter<byte> buffer, string previousHash, long sequence, AuditDraft e, string? keyId)
    {
        ArgumentNullException.ThrowIfNull(e);
        using var writer = new Utf8JsonWriter(buffer);
        writer.WriteStartArray();
        writer.WriteStringValue(previousHash);
        writer.WriteNumberValue(sequence);
        Span<char> at = stackalloc char[32];
        if (!e.At.ToUniversalTime().TryFormat(at, out var written, "yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture))
        {
            throw new FormatException("audit time does not fit its canonical form");
        }

        writer.WriteStringValue(at[..written]);
        foreach (var field in (ReadOnlySpan<string>)[e.Kind, e.LinkId, e.EventKey, e.SourceNetwork, e.SourcePerson, e.Destination, e.Decision, e.RuleId, e.Label, e.ContentHash])
        {
            writer.WriteStringValue(field);
        }

        if (e.Content is { } content)
        {
            writer.WriteStringValue(content);
        }
        else
        {
            writer.WriteNullValue();
        }

        if (keyId is not null)
        {
            writer.WriteStringValue("hmac-sha256:" + keyId);
        }

        writer.WriteEndArray();
    }
}

/// <summary>
/// Checks records one by one in sequence order, carrying the state the rules need across pages: the previous hash,
/// the next sequence, and whether the trail has become keyed.
/// </summary>
/// <remarks>
/// Rules: sequence and previous hash link up; a plain record's hash is its SHA-256; a keyed record's hash is the MAC
/// of the key its id names; once a keyed record was seen, a plain record is a rewrite. A keyed record whose key is not
/// configured at all cannot be checked (counted in <see cref="Unverified"/>, and reported loudly by the caller); one whose
/// key id is unknown while other keys are configured is refused, since a forger would otherwise just invent an id.
/// </remarks>
public sealed class AuditChainChecker(AuditKeyRing keys, string expectedPrevious = AuditChain.Genesis, long expectedSequence = 1)
{
    public string Previous { get; private set; } = expectedPrevious;

    public long Next { get; private set; } = expectedSequence;

    public long Checked { get; private set; }

    /// <summary>Keyed records whose MAC could not be checked because no key is configured.</summary>
    public long Unverified { get; private set; }

    /// <summary>Sequence of the first keyed record seen (the point from which every record must be keyed), if any.</summary>
    public long? KeyedFrom { get; private set; }

    /// <summary>Returns the problem with <paramref name="r"/>, or null when it extends the chain correctly.</summary>
    public string? Check(AuditRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (r.Sequence != Next)
        {
            return $"sequence {r.Sequence} where {Next} was expected (a record was deleted or inserted)";
        }

        if (!string.Equals(r.PreviousHash, Previous, StringComparison.Ordinal))
        {
            return "previous-hash does not match the record before it";
        }

        if (r.KeyId.Length == 0)
        {
            if (KeyedFrom is { } from)
            {
                return $"record is not keyed although the trail is keyed from record {from} (the trail was rewritten without the key)";
            }

            if (!string.Equals(AuditChain.ComputeHash(Previous, r.Sequence, r.Entry), r.Hash, StringComparison.Ordinal))
            {
                return "hash does not match the record's content (the record was altered)";
            }
        }
        else
        {
            KeyedFrom ??= r.Sequence;
            if (keys.TryGet(r.KeyId, out var key))
            {
                if (!string.Equals(AuditChain.Seal(Previous, r.Sequence, r.Entry, key), r.Hash, StringComparison.Ordinal))
                {
                    return $"MAC does not match the record's content under key {r.KeyId} (the record was altered or forged)";
                }
            }
            else if (keys.HasKeys)
            {
                return $"record is MACed with key {r.KeyId}, which is not configured (add it to audit:retiredKeys or audit:retiredKeyFiles)";
            }
            else
            {
                Unverified++;
            }
        }

        Previous = r.Hash;
        Next++;
        Checked++;
        return null;
    }
}

public sealed record AuditVerification(bool Ok, long RecordsChecked, long? FirstBrokenSequence, string? Problem);
