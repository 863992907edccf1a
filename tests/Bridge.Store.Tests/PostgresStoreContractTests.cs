using Bridge.Core.Audit;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Postgres;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit.Abstractions;
using static Bridge.Store.Tests.TestData;

namespace Bridge.Store.Tests;

/// <summary>The contract on PostgreSQL: one schema per test in the shared server; plus what only a shared server can show.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreContractTests : StoreContractTests
{
    private readonly PostgresServerFixture _server;
    private readonly string _schema = "t_" + Guid.NewGuid().ToString("N");

    public PostgresStoreContractTests(PostgresServerFixture server, ITestOutputHelper output)
        : base(output)
    {
        _server = server;
    }

    protected override string StoreName => "PostgreSQL (local, synchronous_commit=on)";

    [Fact]
    public async Task Instances_migrating_at_the_same_time_apply_each_step_once()
    {
        var schema = _schema + "_m";
        await AdminAsync($"CREATE SCHEMA {schema}");
        try
        {
            var stores = Enumerable.Range(0, 4).Select(_ => Open(schema)).ToList();
            await Task.WhenAll(stores.Select(s => Task.Run(() => s.MigrateAsync(Ct))));
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }

            Assert.Equal(SchemaVersions, await SchemaVersionsAsync(schema));
        }
        finally
        {
            await AdminAsync($"DROP SCHEMA {schema} CASCADE");
        }
    }

    [Fact]
    public async Task Two_processes_appending_at_once_share_one_gapless_chain()
    {
        // Two stores = two connection pools, as two bridge processes in an HA pair would have.
        await using var other = OpenStore();
        const int PerStore = 40;
        await Task.WhenAll(
            Task.Run(() => WriteAsync(Store, "left")),
            Task.Run(() => WriteAsync(other, "right")));

        var audit = await Store.ReadAuditAsync(0, null, 1000, Ct);
        Assert.Equal(PerStore * 2 * 2, audit.Count); // per store and round: the ingest's record and the extra one
        var verification = AuditChain.Verify(audit);
        Assert.True(verification.Ok, verification.Problem);
        Assert.Equal((PerStore * 2) + PerStore, await other.CountPendingAsync("mx", Ct)); // own events, plus each shared one once

        static async Task WriteAsync(IBridgeStore store, string name)
        {
            for (var i = 0; i < PerStore; i++)
            {
                var e = Event("mm", "town", $"{name}-{i}");
                Assert.True(await store.IngestAsync(e, [Draft(e, "mx", "!room")], [Audit(e.NativeId)], Ct));
                await store.AppendAuditAsync([Audit(e.NativeId + "/extra")], Ct);
                // Both processes also race on the same ids: exactly one wins each.
                var shared = Event("mm", "town", "shared-" + i);
                await store.IngestAsync(shared, [Draft(shared, "mx", "!room")], [], Ct);
            }
        }
    }

    [Fact]
    public async Task Audit_table_refuses_truncate()
    {
        await Store.AppendAuditAsync([Audit("a1")], Ct);
        await Assert.ThrowsAsync<PostgresException>(() => ExecuteRawAsync("TRUNCATE audit"));
        Assert.Single(await Store.ReadAuditAsync(0, null, 10, Ct));
    }

    [Fact]
    public async Task Audit_times_are_stored_as_utc_ticks_like_sqlite()
    {
        await Store.AppendAuditAsync([Audit("a1")], Ct);
        await using var ds = DataSource(_schema);
        await using var cmd = ds.CreateCommand("SELECT at FROM audit WHERE seq = 1");
        Assert.Equal(Noon.UtcTicks, (long)(await cmd.ExecuteScalarAsync())!);
    }

    [Fact]
    public void Options_without_a_connection_string_are_rejected_at_start()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new PostgresStoreOptions().Validate());
        Assert.Contains("database:postgres:connectionString", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => new PostgresStoreOptions { ConnectionString = "Port=5432" }.Validate());
        new PostgresStoreOptions { ConnectionString = "Host=127.0.0.1;Database=bridge" }.Validate();
    }

    protected override Task PrepareDatabaseAsync() => AdminAsync($"CREATE SCHEMA {_schema}");

    protected override IBridgeStore OpenStore(AuditKeyRing? auditKeys = null) =>
        new PostgresBridgeStore(new PostgresStoreOptions { ConnectionString = ConnectionString(_schema) }, NullLogger<PostgresBridgeStore>.Instance, auditKeys: auditKeys);

    protected override string AllowAuditUpdatesSql => "ALTER TABLE audit DISABLE TRIGGER audit_no_update_delete;";

    protected override async Task ExecuteRawAsync(string sql)
    {
        await using var ds = DataSource(_schema);
        await using var cmd = ds.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    protected override Task<IReadOnlyList<int>> ReadSchemaVersionsAsync() => SchemaVersionsAsync(_schema);

    protected override IReadOnlyList<int> SchemaVersions => [.. PostgresMigrations.All.Select(m => m.Version).Order()];

    protected override Task DropDatabaseAsync() => AdminAsync($"DROP SCHEMA {_schema} CASCADE");

    private PostgresBridgeStore Open(string schema) =>
        new(new PostgresStoreOptions { ConnectionString = ConnectionString(schema) }, NullLogger<PostgresBridgeStore>.Instance);

    private string ConnectionString(string schema) =>
        new NpgsqlConnectionStringBuilder(_server.ConnectionString) { SearchPath = schema }.ConnectionString;

    private NpgsqlDataSource DataSource(string schema) => NpgsqlDataSource.Create(ConnectionString(schema));

    private async Task<IReadOnlyList<int>> SchemaVersionsAsync(string schema)
    {
        await using var ds = DataSource(schema);
        await using var cmd = ds.CreateCommand("SELECT version FROM schema_version ORDER BY version");
        var versions = new List<int>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            versions.Add(r.GetInt32(0));
        }

        return versions;
    }

    private async Task AdminAsync(string sql)
    {
        await using var ds = NpgsqlDataSource.Create(_server.ConnectionString);
        await using var cmd = ds.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}
