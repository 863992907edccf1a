using Bridge.Core.Storage.Postgres;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Bridge.Store.Tests;

[Collection(PostgresCollection.Name)]
public sealed class PostgresLeaderLeaseTests : IAsyncLifetime
{
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
    public async Task Only_one_process_holds_the_lease_and_a_standby_takes_over_when_it_is_released()
    {
        await using var first = Lease(_schema);
        await using var second = Lease(_schema);

        Assert.True(await first.TryAcquireAsync(Ct));
        Assert.True(await first.TryAcquireAsync(Ct)); // re-entrant for the holder
        Assert.False(await second.TryAcquireAsync(Ct));
        Assert.False(second.IsHeld);
        Assert.True(await first.CheckAsync(Ct));

        var standby = second.AcquireAsync(TimeSpan.FromMilliseconds(50), Ct);
        await Task.Delay(200);
        Assert.False(standby.IsCompleted);

        await first.DisposeAsync();
        await standby.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(second.IsHeld);
        Assert.True(await second.CheckAsync(Ct));
    }

    [Fact]
    public async Task A_holder_whose_session_dies_sees_the_loss_and_the_lease_becomes_free()
    {
        await using var holder = Lease(_schema);
        await using var standby = Lease(_schema);
        Assert.True(await holder.TryAcquireAsync(Ct));

        await AdminAsync($"SELECT pg_terminate_backend({holder.BackendProcessId})");

        Assert.False(await holder.CheckAsync(Ct));
        Assert.False(holder.IsHeld);
        Assert.True(await standby.TryAcquireAsync(Ct));
    }

    [Fact]
    public async Task Deployments_in_different_schemas_elect_separately()
    {
        var otherSchema = _schema + "_b";
        await AdminAsync($"CREATE SCHEMA {otherSchema}");
        try
        {
            await using var a = Lease(_schema);
            await using var b = Lease(otherSchema);
            Assert.True(await a.TryAcquireAsync(Ct));
            Assert.True(await b.TryAcquireAsync(Ct));
        }
        finally
        {
            await AdminAsync($"DROP SCHEMA {otherSchema} CASCADE");
        }
    }

    private PostgresLeaderLease Lease(string schema) => new(
        new PostgresStoreOptions { ConnectionString = new NpgsqlConnectionStringBuilder(_server.ConnectionString) { SearchPath = schema }.ConnectionString },
        NullLogger<PostgresLeaderLease>.Instance);

    private async Task AdminAsync(string sql)
    {
        await using var ds = NpgsqlDataSource.Create(_server.ConnectionString);
        await using var cmd = ds.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}
