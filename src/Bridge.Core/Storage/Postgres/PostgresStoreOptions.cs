using Npgsql;

namespace Bridge.Core.Storage.Postgres;

/// <summary>Settings of the PostgreSQL store (configuration section <c>database:postgres</c>).</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>An Npgsql connection string, e.g. <c>Host=db;Port=5432;Database=bridge;Username=bridge;Password=...</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Throws when the options cannot work, so a bad configuration stops the bridge at start, not at the first message.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new InvalidOperationException("database:postgres:connectionString is required when database:provider is postgres");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException("database:postgres:connectionString is not a valid Npgsql connection string: " + ex.Message, ex);
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new InvalidOperationException("database:postgres:connectionString has no Host");
        }
    }
}
