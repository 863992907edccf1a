using System.Collections.Concurrent;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Postgres;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using static Bridge.Store.Tests.TestData;

namespace Bridge.Store.Tests;

/// <summary>A deposed process (its lease taken over) says so in one warning, not once per commit refused after.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DeposedLogTests(PostgresServerFixture server) : IAsyncLifetime
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(3);
    private readonly string _schema = "d_" + Guid.NewGuid().ToString("N");
    private static CancellationToken Ct => CancellationToken.None;

    public Task InitializeAsync() => AdminAsync($"CREATE SCHEMA {_schema}");

    public Task DisposeAsync() => AdminAsync($"DROP SCHEMA {_schema} CASCADE");

    [Fact]
    public async Task Commits_refused_after_a_takeover_log_one_warning()
    {
        var logs = new RecordingLogger();
        var fence = new LeaderFence(TimeProvider.System, leased: true);
        await using var frozen = new PostgresLeaderLease(Options(), NullLogger<PostgresLeaderLease>.Instance, instanceName: "frozen", fence: fence);
        await using var store = new PostgresBridgeStore(Options(), logs, fence: fence);
        Assert.True(await frozen.TryAcquireAsync(Ct));
        await store.MigrateAsync(Ct);
        var e = Event("mm", "town", "p1");
        Assert.True(await store.IngestAsync(e, [Draft(e, "xmpp", "ops@muc")], [], Ct));
        var row = Assert.Single(await store.GetPendingAsync("xmpp", [], 10, Ct));

        // No more heartbeats (as under SIGSTOP); another process takes the lease over once it expires.
        await using var standby = new PostgresLeaderLease(Options(), NullLogger<PostgresLeaderLease>.Instance, instanceName: "standby");
        await Task.Delay(Duration + Heartbeat);
        Assert.True(await standby.TryAcquireAsync(Ct));

        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<LeaderFencedException>(() => store.MarkDeliveredAsync(row, $"xmpp-id-{i}", Ct));
            await Assert.ThrowsAsync<LeaderFencedException>(() => store.SetAsync("mm", "cursor", $"{i}", Ct));
        }

        var loud = logs.Entries.Where(l => l.Level >= LogLevel.Warning).ToList();
        var warning = Assert.Single(loud);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(StoreLog.Fenced, warning.Id);
        Assert.Contains("deposed", warning.Message, StringComparison.Ordinal);
        Assert.Equal(9, logs.Entries.Count(l => l.Level == LogLevel.Debug && l.Id == StoreLog.Fenced));
    }

    private PostgresStoreOptions Options() => new()
    {
        ConnectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString) { SearchPath = _schema }.ConnectionString,
        HeartbeatInterval = Heartbeat,
        LeaseDuration = Duration,
    };

    private async Task AdminAsync(string sql)
    {
        await using var ds = NpgsqlDataSource.Create(server.ConnectionString);
        await using var cmd = ds.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    private sealed class RecordingLogger : ILogger<PostgresBridgeStore>
    {
        public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, eventId, formatter(state, exception)));
    }
}
