using Bridge.Testing;

namespace Bridge.Store.Tests;

/// <summary>One PostgreSQL server (see <see cref="PostgresServer"/>) for all the PostgreSQL tests of this assembly.</summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    public string ConnectionString => _server?.ConnectionString ?? throw new InvalidOperationException("the server is not started");

    public async Task InitializeAsync() => _server = await PostgresServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServerFixture>
{
    public const string Name = "postgres";
}
