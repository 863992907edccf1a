using Bridge.Core.Storage;
using Bridge.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Bridge.Store.Tests;

/// <summary>The contract on SQLite: one temporary database file per test.</summary>
public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bridge-store-").FullName;

    public SqliteStoreContractTests(ITestOutputHelper output)
        : base(output)
    {
    }

    private string DatabasePath => Path.Combine(_directory, "bridge.db");

    protected override string StoreName => "SQLite (WAL, synchronous=normal)";

    protected override Task PrepareDatabaseAsync() => Task.CompletedTask;

    protected override IBridgeStore OpenStore() =>
        new SqliteBridgeStore(new SqliteStoreOptions { Path = DatabasePath }, NullLogger<SqliteBridgeStore>.Instance);

    protected override async Task ExecuteRawAsync(string sql)
    {
        await using var conn = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }

    protected override async Task<IReadOnlyList<int>> ReadSchemaVersionsAsync()
    {
        await using var conn = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT version FROM schema_version ORDER BY version";
        var versions = new List<int>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            versions.Add(r.GetInt32(0));
        }

        return versions;
    }

    protected override Task DropDatabaseAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }
}
