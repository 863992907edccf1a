using Bridge.Core.Storage;

namespace Bridge.Core.Audit;

/// <summary>The outcome of verifying the whole trail, with its head (last sequence and hash) for anchoring elsewhere.</summary>
/// <remarks>
/// A hash chain detects edits, insertions and deletions inside the trail, but not the removal of its newest records:
/// an operator who keeps <see cref="HeadSequence"/>/<see cref="HeadHash"/> from an earlier run (or
/// passes them as <c>expectedHead</c>) detects that too. A keyed trail also detects a rewrite of the whole table.
/// </remarks>
public sealed record AuditVerifyReport(AuditVerification Verification, long HeadSequence, string HeadHash)
{
    public bool Ok => Verification.Ok;

    /// <summary>Keyed records whose MAC was not checked because no audit key was configured (the caller must say so loudly).</summary>
    public long UnverifiedKeyed { get; init; }

    /// <summary>The first keyed record, if the trail is keyed.</summary>
    public long? KeyedFrom { get; init; }

    /// <summary>The head as <c>SEQUENCE:HASH</c>, the form <see cref="AuditVerifier.TryParseHead"/> reads back.</summary>
    public string Head => $"{HeadSequence}:{HeadHash}";
}

/// <summary>Verifies the audit trail's hash chain, reading the store in pages so that any size of trail fits in memory.</summary>
public sealed class AuditVerifier
{
    private readonly IBridgeStore _store;
    private readonly int _pageSize;

    private readonly AuditKeyRing _keys;

    public AuditVerifier(IBridgeStore store, int pageSize = 1000, AuditKeyRing? keys = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        _store = store;
        _pageSize = pageSize;
        _keys = keys ?? AuditKeyRing.None;
    }

    /// <summary>Parses a head as printed after a verification, <c>SEQUENCE:HASH</c> (e.g. for a <c>--head</c> option).</summary>
    public static bool TryParseHead(string? text, out (long Sequence, string Hash) head)
    {
        head = default;
        var parts = text?.Trim().Split(':');
        if (parts is not { Length: 2 } || !long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var sequence)
            || sequence < 1 || parts[1].Length != 64 || !parts[1].All(char.IsAsciiHexDigit))
        {
            return false;
        }

        head = (sequence, parts[1].ToLowerInvariant());
        return true;
    }

    /// <summary>
    /// Checks every record from the first. When <paramref name="expectedHead"/> is given (a sequence and hash recorded
    /// earlier), the trail must still contain that record unchanged. With a key configured, a trail that has records
    /// but none of them keyed is refused unless <paramref name="allowUnkeyed"/>: a whole table rewritten with plain
    /// hashes looks exactly like that.
    /// </summary>
    public async Task<AuditVerifyReport> VerifyAsync(CancellationToken cancellationToken, (long Sequence, string Hash)? expectedHead = null, bool allowUnkeyed = false)
    {
        var checker = new AuditChainChecker(_keys);
        var headOk = expectedHead is null;
        AuditVerifyReport Report(AuditVerification v) =>
            new(v, checker.Next - 1, checker.Previous) { UnverifiedKeyed = checker.Unverified, KeyedFrom = checker.KeyedFrom };

        while (true)
        {
            var page = await _store.ReadAuditAsync(checker.Next - 1, null, _pageSize, cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            foreach (var record in page)
            {
                if (checker.Check(record) is { } problem)
                {
                    return Report(new AuditVerification(false, checker.Checked, record.Sequence, problem));
                }

                if (expectedHead is { } head && !headOk && record.Sequence == head.Sequence)
                {
                    if (!string.Equals(record.Hash, head.Hash, StringComparison.OrdinalIgnoreCase))
                    {
                        return Report(new AuditVerification(false, checker.Checked, head.Sequence,
                            "the record differs from the head recorded earlier (the trail was rewritten from here)"));
                    }

                    headOk = true;
                }
            }

            if (page.Count < _pageSize)
            {
                break;
            }
        }

        if (!headOk)
        {
            return Report(new AuditVerification(false, checker.Checked, checker.Next,
                $"the trail ends at sequence {checker.Next - 1}, before the head {expectedHead!.Value.Sequence} recorded earlier (records were removed from its end)"));
        }

        if (_keys.HasKeys && checker.KeyedFrom is null && checker.Checked > 0 && !allowUnkeyed)
        {
            return Report(new AuditVerification(false, checker.Checked, 1,
                "an audit key is configured but no record is keyed: the trail was rewritten with plain hashes, or the bridge never ran with this key " +
                "(pass --allow-unkeyed only if this store was never keyed)"));
        }

        return Report(new AuditVerification(true, checker.Checked, null, null));
    }
}
