using Bridge.Core.Model;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Postgres;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using static Bridge.Store.Tests.TestData;

namespace Bridge.Store.Tests;

/// <summary>
/// The leader lease (lease row + advisory lock) and the fence the store checks in every commit, with short timings
/// (heartbeat 500 ms, lease 3 s) against the real PostgreSQL.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresLeaderLeaseTests : IAsyncLifetime
{
    // Short, but not so short that a loaded test machine misses a renewal or idles a transaction past the lease.
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(3);
    private readonly PostgresServerFixture _server;
    private readonly string _schema = "l_" + Guid.NewGuid().ToString("N");

    public PostgresLeaderLeaseTests(PostgresServerFixture server)
    {
        _server = server;
    }

    private static CancellationToken Ct => CancellationToken.None;

    public Task InitializeAsync() => AdminAsync($"CREATE SCHEMA {_schema}");

    public Task DisposeAsync() => AdminAsync($"DROP SCHEMA {_schema} CASCADE");

    [Fact]
    public async Task Only_one_process_holds_the_lease_and_a_standby_takes_over_at_once_when_it_is_released()
    {
        await using var first = Lease(_schema, "first");
        await using var second = Lease(_schema, "second");

        Assert.True(await first.TryAcquireAsync(Ct));
        Assert.True(await first.TryAcquireAsync(Ct)); // re-entrant for the holder
        Assert.False(await second.TryAcquireAsync(Ct));
        Assert.False(second.IsHeld);
        Assert.Equal(LeaseRenewal.Renewed, await first.RenewAsync(Ct));
        Assert.True(first.Fence.MayAct);
        Assert.Equal("first", (await second.HolderAsync(Ct))?.Holder);

        await first.ReleaseAsync(Ct);
        Assert.False(first.Fence.MayAct);
        Assert.True(await second.TryAcquireAsync(Ct));
        Assert.Equal(2, second.Epoch); // the first takeover made epoch 1
    }

    [Fact]
    public async Task A_holder_whose_session_dies_reconnects_and_keeps_the_lease_with_the_same_epoch()
    {
        await using var holder = Lease(_schema, "holder", duration: TimeSpan.FromSeconds(30));
        await using var standby = Lease(_schema, "standby", duration: TimeSpan.FromSeconds(30));
        Assert.True(await holder.TryAcquireAsync(Ct));
        var epoch = holder.Epoch;

        await AdminAsync($"SELECT pg_terminate_backend({holder.BackendProcessId})");

        // The next heartbeat finds the session gone, opens a new one and renews: a database blip is not a failover.
        Assert.Equal(LeaseRenewal.Renewed, await holder.RenewAsync(Ct));
        Assert.Equal(epoch, holder.Epoch);
        for (var i = 0; i < 4; i++)
        {
            Assert.False(await standby.TryAcquireAsync(Ct));
            Assert.Equal(LeaseRenewal.Renewed, await holder.RenewAsync(Ct));
            await Task.Delay(Heartbeat);
        }
    }

    [Fact]
    public async Task A_frozen_holder_that_keeps_its_session_is_replaced_when_its_lease_expires_and_cannot_commit_after()
    {
        var fence = new LeaderFence(TimeProvider.System, leased: true);
        await using var frozen = Lease(_schema, "frozen", fence);
        await using var store = Store(fence);
        Assert.True(await frozen.TryAcquireAsync(Ct));
        await store.MigrateAsync(Ct);
        var e = Event("mm", "town", "p1");
        Assert.True(await store.IngestAsync(e, [Draft(e, "xmpp", "ops@muc")], [], Ct));
        await store.SetAsync("mm", "cursor", "1", Ct);
        var row = Assert.Single(await store.GetPendingAsync("xmpp", [], 10, Ct));
        Assert.Equal(LeaseRenewal.Renewed, await frozen.RenewAsync(Ct));

        // "Frozen": no more heartbeats, but its session (and the advisory lock) stays open, as under SIGSTOP.
        await using var standby = Lease(_schema, "standby");
        Assert.False(await standby.TryAcquireAsync(Ct));
        await Task.Delay(Duration + Heartbeat);
        Assert.False(frozen.Fence.MayAct); // stopped sending on its own before the standby could take over
        Assert.True(await standby.TryAcquireAsync(Ct));
        Assert.Equal(frozen.Epoch + 1, standby.Epoch);
        Assert.NotNull(frozen.BackendProcessId); // the old session still holds the advisory lock

        // It wakes up: every commit is refused in its own transaction, and nothing changed.
        await Assert.ThrowsAsync<LeaderFencedException>(() => store.MarkDeliveredAsync(row, "xmpp-id-1", Ct));
        Assert.True(fence.IsLost);
        await Assert.ThrowsAsync<LeaderFencedException>(() => store.SetAsync("mm", "cursor", "2", Ct));
        var e2 = Event("mm", "town", "p2");
        await Assert.ThrowsAsync<LeaderFencedException>(() => store.IngestAsync(e2, [Draft(e2, "xmpp", "ops@muc")], [], Ct));
        await Assert.ThrowsAsync<LeaderFencedException>(() => store.RescheduleAsync(row.Id, 1, DateTimeOffset.UtcNow, "x", Ct));
        await Assert.ThrowsAsync<LeaderFencedException>(() => store.DeadLetterAsync(row.Id, 1, "x", Ct));
        await Assert.ThrowsAsync<LeaderFencedException>(() => store.MarkSkippedAsync(row, "x", Ct));
        Assert.Equal(LeaseRenewal.Lost, await frozen.RenewAsync(Ct));

        await using var reader = Store(null);
        Assert.Equal("1", await reader.GetAsync("mm", "cursor", Ct));
        Assert.Equal(row.Id, Assert.Single(await reader.GetPendingAsync("xmpp", [], 10, Ct)).Id);
        Assert.False(await reader.IsDeliveredNativeIdAsync("xmpp", "xmpp-id-1", Ct));
        Assert.Empty(await reader.GetDeliveryStatesAsync("mm", "p2", Ct));
    }

    [Fact]
    public async Task A_holder_whose_session_ended_and_that_stopped_renewing_is_replaced_before_its_lease_expires()
    {
        // A long lease: the takeover below can only come from the fast path (advisory lock free, row not renewed).
        await using var dead = Lease(_schema, "dead", duration: TimeSpan.FromSeconds(60));
        await using var standby = Lease(_schema, "standby", duration: TimeSpan.FromSeconds(60));
        Assert.True(await dead.TryAcquireAsync(Ct));
        await AdminAsync($"SELECT pg_terminate_backend({dead.BackendProcessId})");

        var started = DateTime.UtcNow;
        while (!await standby.TryAcquireAsync(Ct))
        {
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "the standby did not take over a dead holder's lease");
            await Task.Delay(Heartbeat);
        }

        Assert.Equal(dead.Epoch + 1, standby.Epoch);
        Assert.Equal(LeaseRenewal.Lost, await dead.RenewAsync(Ct));
    }

    [Fact]
    public async Task Deployments_in_different_schemas_elect_separately()
    {
        var otherSchema = _schema + "_b";
        await AdminAsync($"CREATE SCHEMA {otherSchema}");
        try
        {
            await using var a = Lease(_schema, "a");
            await using var b = Lease(otherSchema, "b");
            Assert.True(await a.TryAcquireAsync(Ct));
            Assert.True(await b.TryAcquireAsync(Ct));
        }
        finally
        {
            await AdminAsync($"DROP SCHEMA {otherSchema} CASCADE");
        }
    }

    [Fact]
    public void Lease_timings_are_checked_at_start()
    {
        Assert.Null(PostgresStoreOptions.LeaseProblem(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10)));
        Assert.Contains("at least three heartbeat", PostgresStoreOptions.LeaseProblem(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)), StringComparison.Ordinal);
        Assert.Contains("heartbeatInterval", PostgresStoreOptions.LeaseProblem(TimeSpan.Zero, TimeSpan.FromSeconds(5)), StringComparison.Ordinal);
    }

    private string ConnectionString(string schema) => new NpgsqlConnectionStringBuilder(_server.ConnectionString) { SearchPath = schema }.ConnectionString;

    private PostgresLeaderLease Lease(string schema, string name, LeaderFence? fence = null, TimeSpan? duration = null) => new(
        new PostgresStoreOptions { ConnectionString = ConnectionString(schema), HeartbeatInterval = Heartbeat, LeaseDuration = duration ?? Duration },
        NullLogger<PostgresLeaderLease>.Instance, instanceName: name, fence: fence);

    private PostgresBridgeStore Store(LeaderFence? fence) => new(
        new PostgresStoreOptions { ConnectionString = ConnectionString(_schema), HeartbeatInterval = Heartbeat, LeaseDuration = Duration },
        NullLogger<PostgresBridgeStore>.Instance, fence: fence);

    private async Task AdminAsync(string sql)
    {
        await using var ds = NpgsqlDataSource.Create(_server.ConnectionString);
        await using var cmd = ds.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}
