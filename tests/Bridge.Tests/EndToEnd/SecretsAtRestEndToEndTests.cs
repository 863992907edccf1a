using System.Text.Json.Nodes;
using Bridge.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Puppets' tokens and the database file at rest, through the real daemon: XMPP (real Prosody) to the sandbox
/// Mattermost, whose puppet token the daemon stores encrypted and reuses after a restart.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class SecretsAtRestEndToEndTests(ITestOutputHelper output)
{
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_daemon_stores_a_puppets_token_encrypted_in_a_private_database_and_reuses_it_after_a_restart()
    {
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { Matrix = false });
        var bridge = await net.StartBridgeAsync();
        try
        {
            var alice = await net.AliceAsync();
            await alice.SayAsync("hello mattermost");
            await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("hello mattermost").Count == 1, ThreeNetworks.Long, "Alice's message on Mattermost");
            Assert.Equal(0, await bridge.TerminateAsync(TimeSpan.FromSeconds(30)));

            var first = await PuppetTokensAsync(net.DatabasePath);
            Assert.NotEmpty(first);
            Assert.All(first.Values, t => Assert.StartsWith("enc:v1:s", t, StringComparison.Ordinal));
            foreach (var file in new[] { net.DatabasePath, net.DatabasePath + "-wal", net.DatabasePath + "-shm" }.Where(File.Exists))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            // After a restart the same encrypted token is read back and used: no new token is minted and stored.
            bridge = await net.StartBridgeAsync();
            await alice.SayAsync("hello again");
            await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("hello again").Count == 1, ThreeNetworks.Long, "Alice's second message on Mattermost");
            Assert.Equal(net.MattermostPosts("hello mattermost")[0].UserId, net.MattermostPosts("hello again")[0].UserId);
            Assert.Equal(0, await bridge.TerminateAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(first, await PuppetTokensAsync(net.DatabasePath));
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    private static async Task<Dictionary<string, string>> PuppetTokensAsync(string databasePath)
    {
        await using var db = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT key, value FROM connector_state WHERE scope LIKE 'mattermost:%:puppets'";
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            tokens[r.GetString(0)] = (string?)JsonNode.Parse(r.GetString(1))!["Token"] ?? "";
        }

        return tokens;
    }
}
