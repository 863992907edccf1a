using Bridge.Core.Storage;
using Bridge.Core.Storage.Sqlite;
using Bridge.Host.Admin.Console;
using Bridge.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Admin;

/// <summary>
/// The console's newest-first audit reads on a real SQLite store: the head is found by probing (the store reads forwards
/// only), for every trail length around the probe's powers of two, and as the trail grows; filters read back past
/// non-matching records.
/// </summary>
public sealed class ConsoleAuditTests
{
    [Fact]
    public async Task The_head_is_the_newest_sequence_for_every_trail_length_and_follows_the_trail_as_it_grows()
    {
        using var dir = new TempDirectory();
        await using var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = dir.File("bridge.db") }, NullLogger<SqliteBridgeStore>.Instance);
        await store.MigrateAsync(CancellationToken.None);
        var latest = new LatestAudit(store);
        Assert.Equal(0, await latest.HeadAsync(CancellationToken.None));

        var written = 0;
        foreach (var length in new[] { 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100, 511, 512, 513, 1300 })
        {
            await AppendAsync(store, length - written, i => Draft(written + i));
            written = length;
            Assert.Equal(length, await latest.HeadAsync(CancellationToken.None));
            // A fresh reader (no remembered head) finds the same.
            Assert.Equal(length, await new LatestAudit(store).HeadAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task Filtered_reads_return_the_newest_matching_records_first()
    {
        using var dir = new TempDirectory();
        await using var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = dir.File("bridge.db") }, NullLogger<SqliteBridgeStore>.Instance);
        await store.MigrateAsync(CancellationToken.None);
        // 1,200 records: every 100th is a block toward mm on link "lab"; the rest are deliveries toward xmpp on "ops".
        await AppendAsync(store, 1200, Draft);

        var page = await new LatestAudit(store).ReadAsync(new AuditFilter("lab", "mm", "blocked", 5), CancellationToken.None);
        Assert.Equal([1200L, 1100, 1000, 900, 800], page.Records.Select(r => r.Sequence));
        Assert.All(page.Records, r => Assert.Equal("mm:town-square", r.Entry.Destination));
        Assert.Equal(1200, page.Head);

        var all = await new LatestAudit(store).ReadAsync(new AuditFilter(null, "xmpp", null, 3), CancellationToken.None);
        Assert.Equal([1199L, 1198, 1197], all.Records.Select(r => r.Sequence));

        // The source network matches too.
        var fromMatrix = await new LatestAudit(store).ReadAsync(new AuditFilter(null, "matrix", null, 2), CancellationToken.None);
        Assert.Equal([1200L, 1199], fromMatrix.Records.Select(r => r.Sequence));

        // Nothing matches an unknown decision, and the whole trail was searched.
        var none = await new LatestAudit(store).ReadAsync(new AuditFilter(null, null, "no-such-decision", 10), CancellationToken.None);
        Assert.Empty(none.Records);
        Assert.True(none.Complete);
    }

    /// <summary>Record <c>n</c> (1-based): a block toward mm on "lab" when n is a multiple of 100, else a delivery toward xmpp on "ops".</summary>
    private static AuditDraft Draft(int n) => n % 100 == 0
        ? new AuditDraft { At = DateTimeOffset.UnixEpoch.AddSeconds(n), Kind = "decision", LinkId = "lab", SourceNetwork = "matrix", Destination = "mm:town-square", Decision = "blocked" }
        : new AuditDraft { At = DateTimeOffset.UnixEpoch.AddSeconds(n), Kind = "decision", LinkId = "ops", SourceNetwork = "matrix", Destination = "xmpp:ops@conference.a.localhost", Decision = "delivered" };

    private static async Task AppendAsync(IBridgeStore store, int count, Func<int, AuditDraft> draft)
    {
        var batch = Enumerable.Range(1, count).Select(draft).ToList();
        if (batch.Count > 0)
        {
            await store.AppendAuditAsync(batch, CancellationToken.None);
        }
    }
}
