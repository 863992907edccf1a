using Sandbox.Mattermost.Testing;
using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Typing through the real daemon, ephemeral (docs/capabilities.md), between every pair of networks: an XMPP person's
/// XEP-0085 composing, a Mattermost person's typing (WebSocket event) and a Matrix person's typing (PUT /typing, pushed
/// to the bridge as m.typing in a transaction) each show on the two other networks as their puppet typing, and the stop
/// where the network has one; no outbox row is ever written for it. Across a barrier, no typing goes either way.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TypingEndToEndTests
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    [Fact]
    public async Task Typing_crosses_between_all_three_networks_both_ways_and_is_never_queued()
    {
        await using var net = await ThreeNetworks.StartAsync();
        await net.StartBridgeAsync();
        await using var alice = await net.AliceAsync();
        var people = await SpeakAsync(net, alice, "ty");
        var rowsBefore = OutboxRows(net.DatabasePath);
        using var carolSees = await MattermostTypingWatch.StartAsync(net);

        // XMPP → Mattermost and Matrix: Alice composes, then pauses (Matrix has a stop; Mattermost's indicator fades).
        await alice.SendChatStateAsync("composing");
        await ThreeNetworks.WaitUntilAsync(() => carolSees.Saw(people.AliceOnMm), Long, "Alice's puppet typing on Mattermost");
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetTyping(net.MatrixRoom).Contains(people.AliceOnMatrix), Long, "Alice's puppet typing on Matrix");
        await alice.SendChatStateAsync("paused");
        await ThreeNetworks.WaitUntilAsync(() => !net.Hs.GetTyping(net.MatrixRoom).Contains(people.AliceOnMatrix), Long, "Alice's puppet stopped typing on Matrix");

        // Mattermost → XMPP and Matrix: Carol types; her puppets type, then stop when she goes quiet (6 s without an event).
        await CarolTypesAsync(net);
        await ThreeNetworks.WaitUntilAsync(() => alice.ChatStates.Contains((people.CarolOnXmpp, "composing")), Long, "Carol composing on XMPP");
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetTyping(net.MatrixRoom).Contains(people.CarolOnMatrix), Long, "Carol's puppet typing on Matrix");
        await ThreeNetworks.WaitUntilAsync(() => alice.ChatStates.Contains((people.CarolOnXmpp, "paused")), Long, "Carol paused on XMPP");
        await ThreeNetworks.WaitUntilAsync(() => !net.Hs.GetTyping(net.MatrixRoom).Contains(people.CarolOnMatrix), Long, "Carol's puppet stopped typing on Matrix");

        // Matrix → XMPP and Mattermost: Bob types in his client (PUT /typing), then stops.
        await BobTypesAsync(net, typing: true);
        await ThreeNetworks.WaitUntilAsync(() => alice.ChatStates.Contains((people.BobOnXmpp, "composing")), Long, "Bob composing on XMPP");
        await ThreeNetworks.WaitUntilAsync(() => carolSees.Saw(people.BobOnMm), Long, "Bob's puppet typing on Mattermost");
        await BobTypesAsync(net, typing: false);
        await ThreeNetworks.WaitUntilAsync(() => alice.ChatStates.Contains((people.BobOnXmpp, "paused")), Long, "Bob paused on XMPP");

        Assert.Equal(rowsBefore, OutboxRows(net.DatabasePath)); // ephemeral: no outbox row was added for any of it
    }

    [Fact]
    public async Task Across_a_barrier_between_matrix_and_xmpp_no_typing_goes_either_way()
    {
        await using var net = await ThreeNetworks.StartAsync();
        var bridge = await net.StartBridgeAsync();
        await using var alice = await net.AliceAsync();
        // Every puppet exists and sits in its room first: only the policy can keep typing from showing.
        var people = await SpeakAsync(net, alice, "tb");
        using var carolSees = await MattermostTypingWatch.StartAsync(net);

        await File.AppendAllTextAsync(net.ConfigPath, "\npolicy:\n  barriers:\n    - [org-matrix, org-xmpp]\n");
        await bridge.WaitForOutputAsync("Sharing policy reloaded", Long);

        // Each typing reaches Mattermost (the control); then a later typing crosses toward the barred network, so
        // anything the first had sent there would have arrived before it.
        await BobTypesAsync(net, typing: true);
        await ThreeNetworks.WaitUntilAsync(() => carolSees.Saw(people.BobOnMm), Long, "Bob's puppet typing on Mattermost");
        await alice.SendChatStateAsync("composing");
        await ThreeNetworks.WaitUntilAsync(() => carolSees.Saw(people.AliceOnMm), Long, "Alice's puppet typing on Mattermost");
        await CarolTypesAsync(net);
        await ThreeNetworks.WaitUntilAsync(() => alice.ChatStates.Contains((people.CarolOnXmpp, "composing")), Long, "Carol composing on XMPP");
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetTyping(net.MatrixRoom).Contains(people.CarolOnMatrix), Long, "Carol's puppet typing on Matrix");

        Assert.DoesNotContain(alice.ChatStates, s => s.Nick == people.BobOnXmpp);
        Assert.DoesNotContain(people.AliceOnMatrix, net.Hs.GetTyping(net.MatrixRoom)); // it would last 30 s: a snapshot sees it
    }

    /// <summary>Everyone speaks once, so each has a puppet in the other two rooms (typing never makes one); their ids there.</summary>
    private static async Task<People> SpeakAsync(ThreeNetworks net, XmppPerson alice, string prefix)
    {
        await alice.SayConfirmedAsync($"{prefix}-1 from alice");
        net.CarolSays($"{prefix}-2 from carol");
        net.BobSays($"{prefix}-3 from bob");
        bool OnXmpp(string p) => alice.Messages.Any(m => m.Body.StartsWith(p, StringComparison.Ordinal));
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts($"{prefix}-1").Count == 1 && net.MattermostPosts($"{prefix}-3").Count == 1
            && net.MatrixMessages($"{prefix}-1").Count == 1 && net.MatrixMessages($"{prefix}-2").Count == 1
            && OnXmpp($"{prefix}-2") && OnXmpp($"{prefix}-3"), Long, "every message on both other networks");
        await ThreeNetworks.WaitForPendingAsync(net.DatabasePath, "mm", 0);
        await ThreeNetworks.WaitForPendingAsync(net.DatabasePath, "matrix", 0);
        await ThreeNetworks.WaitForPendingAsync(net.DatabasePath, "xmpp", 0);
        string Nick(string p) => alice.Messages.First(m => m.Body.StartsWith(p, StringComparison.Ordinal)).FromNick;
        return new People(
            AliceOnMm: net.MattermostPosts($"{prefix}-1")[0].UserId,
            AliceOnMatrix: net.MatrixMessages($"{prefix}-1")[0].Sender,
            CarolOnXmpp: Nick($"{prefix}-2"),
            CarolOnMatrix: net.MatrixMessages($"{prefix}-2")[0].Sender,
            BobOnXmpp: Nick($"{prefix}-3"),
            BobOnMm: net.MattermostPosts($"{prefix}-3")[0].UserId);
    }

    private sealed record People(string AliceOnMm, string AliceOnMatrix, string CarolOnXmpp, string CarolOnMatrix, string BobOnXmpp, string BobOnMm);

    /// <summary>Carol's client says she types (Mattermost's REST call, as the web client's WebSocket action does).</summary>
    private static async Task CarolTypesAsync(ThreeNetworks net)
    {
        using var http = new HttpClient { BaseAddress = net.Mm.BaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v4/users/{net.Carol!.Id}/typing")
        {
            Content = new StringContent(new JsonObject { ["channel_id"] = net.MmChannel, ["parent_id"] = "" }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", net.Mm.CreateAccessToken(net.Carol.Id));
        (await http.SendAsync(request)).EnsureSuccessStatusCode();
    }

    /// <summary>Bob's client: <c>PUT /rooms/{roomId}/typing/{userId}</c> with his own token, as Element sends it.</summary>
    private static async Task BobTypesAsync(ThreeNetworks net, bool typing)
    {
        using var http = new HttpClient { BaseAddress = net.Hs.BaseUrl };
        var path = $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(net.MatrixRoom)}/typing/{Uri.EscapeDataString(net.Bob!.UserId)}";
        var body = typing ? new JsonObject { ["typing"] = true, ["timeout"] = 30000 } : new JsonObject { ["typing"] = false };
        using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", net.Bob.AccessToken);
        (await http.SendAsync(request)).EnsureSuccessStatusCode();
    }

    /// <summary>Carol's open WebSocket, read in the background: every user id whose typing it was shown.</summary>
    private sealed class MattermostTypingWatch : IDisposable
    {
        private readonly ClientWebSocket _ws = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentDictionary<string, byte> _typing = new(StringComparer.Ordinal);

        public static async Task<MattermostTypingWatch> StartAsync(ThreeNetworks net)
        {
            var watch = new MattermostTypingWatch();
            watch._ws.Options.SetRequestHeader("Authorization", "Bearer " + net.Mm.CreateAccessToken(net.Carol!.Id));
            await watch._ws.ConnectAsync(net.Mm.WebSocketUrl, CancellationToken.None);
            _ = watch.ReadAsync();
            return watch;
        }

        public bool Saw(string userId) => _typing.ContainsKey(userId);

        private async Task ReadAsync()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var text = new StringBuilder();
                    WebSocketReceiveResult r;
                    do
                    {
                        r = await _ws.ReceiveAsync(buffer, _stop.Token);
                        text.Append(Encoding.UTF8.GetString(buffer, 0, r.Count));
                    }
                    while (!r.EndOfMessage);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    var msg = JsonNode.Parse(text.ToString());
                    if (msg?["event"]?.GetValue<string>() == "typing" && msg["data"]?["user_id"]?.GetValue<string>() is { } user)
                    {
                        _typing[user] = 0;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException)
            {
                // Stopped.
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _ws.Dispose();
            _stop.Dispose();
        }
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
