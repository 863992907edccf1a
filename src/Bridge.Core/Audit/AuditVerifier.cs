using Bridge.Core.Storage;

namespace Bridge.Core.Audit;

/// <summary>The outcome of verifying the whole trail, with its head (last sequence and hash) for anchoring elsewhere.</summary>
/// <remarks>
/// A hash chain detects edits, insertions and deletions inside the trail, but not the removal of its newest records:
/// an operator who keeps <see cref="HeadSequence"/>/<see cref="HeadHash"/> from an earlier run (or
/// passes them as <c>expectedHead</c>) detects that too.
/// </remarks>
public sealed record AuditVerifyReport(AuditVerification Verification, long HeadSequence, string HeadHash)
{
    public bool Ok => Verification.Ok;

    /// <summary>The head as <c>SEQUENCE:HASH</c>, the form <see cref="AuditVerifier.TryParseHead"/> reads back.</summary>
    public string Head => $"{HeadSequence}:{HeadHash}";
}

/// <summary>Verifies the audit trail's hash chain, reading the store in pages so that any size of trail fits in memory.</summary>
public sealed class AuditVerifier
{
    private readonly IBridgeStore _store;
    private readonly int _pageSize;

    public AuditVerifier(IBridgeStore store, int pageSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        _store = store;
        _pageSize = pageSize;
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
    /// earlier), the trail must still contain that record unchanged.
    /// </summary>
    public async Task<AuditVerifyReport> VerifyAsync(CancellationToken cancellationToken, (long Sequence, string Hash)? expectedHead = null)
    {
        var previous = AuditChain.Genesis;
        var next = 1L;
        long checkedCount = 0;
        var headOk = expectedHead is null;
        while (true)
        {
            var page = await _store.ReadAuditAsync(next - 1, null, _pageSize, cancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            var result = AuditChain.Verify(page, previous, next);
            if (!result.Ok)
            {
                return new AuditVerifyReport(result with { RecordsChecked = checkedCount + result.RecordsChecked }, next - 1, previous);
            }

            if (expectedHead is { } head && !headOk)
            {
                var anchor = page.FirstOrDefault(r => r.Sequence == head.Sequence);
                if (anchor is not null)
                {
                    if (!string.Equals(anchor.Hash, head.Hash, StringComparison.OrdinalIgnoreCase))
                    {
                        return new AuditVerifyReport(new AuditVerification(false, checkedCount + result.RecordsChecked, head.Sequence,
                            "the record differs from the head recorded earlier (the trail was rewritten from here)"), next - 1, previous);
                    }

                    headOk = true;
                }
            }

            checkedCount += result.RecordsChecked;
            var last = page[^1];
            previous = last.Hash;
            next = last.Sequence + 1;
            if (page.Count < _pageSize)
            {
                break;
            }
        }

        if (!headOk)
        {
            return new AuditVerifyReport(new AuditVerification(false, checkedCount, next, $"the trail ends at sequence {next - 1}, before the head {expectedHead!.Value.Sequence} recorded earlier (records were removed from its end)"),
                next - 1, previous);
        }

        return new AuditVerifyReport(new AuditVerification(true, checkedCount, null, null), next - 1, previous);
    }
}
