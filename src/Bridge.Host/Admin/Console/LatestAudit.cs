using Bridge.Core.Storage;

namespace Bridge.Host.Admin.Console;

/// <summary>What the console asks of the audit trail: records newest first, optionally of one link, network or decision.</summary>
internal sealed record AuditFilter(string? Link, string? Network, string? Decision, int Limit)
{
    public const int MaxLimit = 200;

    public bool Matches(AuditDraft e) =>
        (Link is null || string.Equals(e.LinkId, Link, StringComparison.Ordinal))
        && (Decision is null || string.Equals(e.Decision, Decision, StringComparison.Ordinal))
        && (Network is null || string.Equals(e.SourceNetwork, Network, StringComparison.Ordinal) || DestinationNetwork(e.Destination) == Network);

    /// <summary>Destinations are written as <c>network:channel</c>.</summary>
    private static string DestinationNetwork(string destination)
    {
        var colon = destination.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? destination : destination[..colon];
    }
}

/// <summary>The answer: matching records newest first, how far back the search went, and whether it reached the start.</summary>
internal sealed record AuditPage(IReadOnlyList<AuditRecord> Records, long Head, long ScannedFrom, bool Complete);

/// <summary>
/// Reads the newest audit records. The store reads the trail forwards only (that is what export and verify need), so
/// the newest sequence is found by probing (galloping, then halving) and pages are read backwards from it. A filtered
/// search stops after <see cref="MaxScanned"/> records so that one request cannot read a whole large trail.
/// </summary>
internal sealed class LatestAudit(IBridgeStore store)
{
    public const int MaxScanned = 20_000;
    private const int PageSize = 500;
    private long _knownHead;

    public async Task<AuditPage> ReadAsync(AuditFilter filter, CancellationToken cancellationToken)
    {
        var head = await HeadAsync(cancellationToken);
        var found = new List<AuditRecord>();
        var upper = head;
        while (upper > 0 && found.Count < filter.Limit && head - upper < MaxScanned)
        {
            var after = Math.Max(0, upper - PageSize);
            var page = await store.ReadAuditAsync(after, null, (int)(upper - after), cancellationToken);
            for (var i = page.Count - 1; i >= 0 && found.Count < filter.Limit; i--)
            {
                if (filter.Matches(page[i].Entry))
                {
                    found.Add(page[i]);
                }
            }

            upper = after;
        }

        return new AuditPage(found, head, upper + 1, upper == 0);
    }

    /// <summary>The newest sequence in the trail (0 when empty). Sequences run 1, 2, 3… without gaps.</summary>
    public async Task<long> HeadAsync(CancellationToken cancellationToken)
    {
        var low = Volatile.Read(ref _knownHead);
        if (low > 0 && !await ExistsAfterAsync(low - 1, cancellationToken))
        {
            // The trail is shorter than it was (a store restored from a backup): start over.
            low = 0;
        }

        if (!await ExistsAfterAsync(low, cancellationToken))
        {
            return low;
        }

        // Gallop: find a sequence past the head, then halve the gap.
        var step = 1L;
        var high = low + step;
        while (await ExistsAfterAsync(high, cancellationToken))
        {
            low = high;
            step *= 2;
            high = low + step;
        }

        // Invariant: record `low` exists (or low is 0), record `high + 1` does not; the head is in [low, high].
        while (low < high)
        {
            var mid = low + ((high - low + 1) / 2);
            if (await ExistsAfterAsync(mid - 1, cancellationToken))
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        Volatile.Write(ref _knownHead, low);
        return low;
    }

    private async Task<bool> ExistsAfterAsync(long sequence, CancellationToken cancellationToken) =>
        (await store.ReadAuditAsync(sequence, null, 1, cancellationToken)).Count > 0;
}
