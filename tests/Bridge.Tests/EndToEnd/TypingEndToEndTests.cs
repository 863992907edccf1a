using Sandbox.Mattermost.Testing;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Typing through the real daemon, ephemeral (docs/capabilities.md): an XMPP person's XEP-0085 composing shows on
/// Mattermost as their puppet typing, a Mattermost person's typing shows in the XMPP room as composing then paused; no
/// outbox row is ever written for it.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TypingEndToEndTests
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    [Fact]
    public async Task Typing_crosses_between_xmpp_and_mattermost_and_is_never_queued()
    {
        await using var net = await ThreeNetworks.StartAsync();
        await net.StartBridgeAsync();
        await using var alice = await net.AliceAsync();
        var carolToken = net.Mm.CreateAccessToken(net.Carol!.Id);

        // Puppets exist once each has spoken (typing never creates one).
        await alice.SayConfirmedAsync("ty-1 from alice");
        net.CarolSays("ty-2 from carol");
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("ty-1").Count == 1 && alice.Messages.Any(m => m.Body.StartsWith("ty-2", StringComparison.Ordinal)),
            Long, "both messages");
        var alicePuppet = net.MattermostPosts("ty-1")[0].UserId;
        var carolNick = alice.Messages.First(m => m.Body.StartsWith("ty-2", StringComparison.Ordinal)).FromNick;
        await ThreeNetworks.WaitForPendingAsync(net.DatabasePath, "mm", 0);
        var rowsBefore = OutboxRows(net.DatabasePath);

        // XMPP → Mattermost: Carol's WebSocket sees Alice's puppet typing.
        using var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Authorization", "Bearer " + carolToken);
        await ws.ConnectAsync(net.Mm.WebSocketUrl, CancellationToken.None);
        await alice.SendChatStateAsync("composing");
        Assert.True(await WebSocketWatch.SeesTypingAsync(ws, alicePuppet, TimeSpan.FromSeconds(30)), "Alice's puppet typing on Mattermost");

        // Mattermost → XMPP: Carol types; the room sees her puppet compose, then pause when she goes quiet.
        using var http = new HttpClient { BaseAddress = net.Mm.BaseUrl };
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v4/users/{net.Carol.Id}/typing")
        {
            Content = new StringContent(new JsonObject { ["channel_id"] = net.MmChannel, ["parent_id"] = "" }.ToJsonString(), Encoding.UTF8, "application/json"),
        })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", carolToken);
            (await http.SendAsync(request)).EnsureSuccessStatusCode();
        }
        await ThreeNetworks.WaitUntilAsync(() => alice.ChatStates.Contains((carolNick, "composing")), Long, "Carol composing on XMPP");
        await ThreeNetworks.WaitUntilAsync(() => alice.ChatStates.Contains((carolNick, "paused")), Long, "Carol paused on XMPP");

        Assert.Equal(rowsBefore, OutboxRows(net.DatabasePath)); // ephemeral: no outbox row was added for any of it
    }

    private static long OutboxRows(string db)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(id), 0) FROM outbox";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
