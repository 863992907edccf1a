using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Links;
using Bridge.Core.Model;
using Bridge.Host.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Bridge.Host.Cli;

/// <summary>
/// For <c>check-config</c>: the links made through the admin API (read from the store without changing it) that the
/// file now contradicts. The file wins: such a stored link is not put in force at start (and is logged), so the operator
/// learns it here first.
/// </summary>
internal static class StoredLinkClashes
{
    public static async Task<IReadOnlyList<ConfigError>> FindAsync(HostSettings settings, CancellationToken cancellationToken)
    {
        IReadOnlyList<(string Id, string Json)> stored;
        try
        {
            stored = await ReadAsync(settings.Database, cancellationToken);
        }
        catch (Exception ex) when (ex is SqliteException or NpgsqlException or InvalidOperationException or IOException)
        {
            return [new ConfigError("database", $"could not read the links made through the admin API to compare them with the file: {ex.Message}")];
        }

        var warnings = new List<ConfigError>();
        var topology = settings.Topology;
        var fileChannels = topology.Links.SelectMany(l => l.Endpoints.Select(e => (Endpoint: e, Link: l.Id))).ToDictionary(x => x.Endpoint, x => x.Link);
        foreach (var (id, json) in stored)
        {
            LinkSpec spec;
            try
            {
                spec = LinkSpec.FromJson(json);
            }
            catch (System.Text.Json.JsonException)
            {
                warnings.Add(new ConfigError($"links:{id}", "the stored (admin API) link cannot be read; it is not in force"));
                continue;
            }

            if (topology.FindLink(id) is not null)
            {
                warnings.Add(new ConfigError($"links:{id}", "a link made through the admin API has the same id; the file's link is in force, the stored one is not (delete it: bridge links remove)"));
                continue;
            }

            foreach (var e in spec.Endpoints)
            {
                if (e.Network is null || !topology.TryGetNetwork(e.Network, out _))
                {
                    warnings.Add(new ConfigError($"links:{id}", $"the stored (admin API) link names network '{e.Network}', which the file does not configure; it is not in force"));
                }
                else if (e.Channel is not null && fileChannels.TryGetValue(new ChannelRef(e.Network, e.Channel), out var fileLink))
                {
                    warnings.Add(new ConfigError($"links:{fileLink}", $"{e.Network}/{e.Channel} is also in link '{id}' made through the admin API; the file wins and '{id}' is not in force"));
                }
            }
        }

        return warnings;
    }

    private static async Task<IReadOnlyList<(string, string)>> ReadAsync(DatabaseOptions database, CancellationToken cancellationToken)
    {
        var list = new List<(string, string)>();
        if (database.Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase))
        {
            await using var source = NpgsqlDataSource.Create(database.Postgres.ConnectionString);
            try
            {
                await using var cmd = source.CreateCommand("SELECT id, definition FROM api_links ORDER BY seq");
                await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
                while (await r.ReadAsync(cancellationToken))
                {
                    list.Add((r.GetString(0), r.GetString(1)));
                }
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                // Not migrated yet: nothing stored.
            }

            return list;
        }

        if (!File.Exists(database.Sqlite.Path))
        {
            return list;
        }

        // Read-only: check-config must not create, migrate or lock the daemon's store.
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database.Sqlite.Path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync(cancellationToken);
        await using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'api_links'";
        if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            return list;
        }

        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT id, definition FROM api_links ORDER BY seq";
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add((reader.GetString(0), reader.GetString(1)));
        }

        return list;
    }
}
