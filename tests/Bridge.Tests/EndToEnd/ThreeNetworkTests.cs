using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Bridge.Testing;
using Sandbox.Mattermost;
using Sandbox.Mattermost.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// One link across Mattermost (sandbox server in-process), Matrix (sandbox homeserver in-process) and XMPP (real Prosody,
/// real slixmpp person), through the real daemon as a child process.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class ThreeNetworkTests(ITestOutputHelper output)
{
    private const int MaxPostSize = 16383;
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    [Fact]
    public async Task Fifty_messages_from_each_network_reach_both_others_once_in_order_as_the_persons_puppet()
    {
        await using var net = await ThreeNetworks.StartAsync();
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        // Carol uses the official Mattermost JavaScript client (Client4) with her password, as the webapp would.
        await using var carolClient = await NodeMattermostClient.StartAsync(net.Mm.BaseUrl);
        await carolClient.LoginAsync("carol", "Passw0rd!");
        await WarmUpAllAsync(net, alice, carolClient);

        var fromAlice = Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await alice.SayAsync($"a-{i}");
            }
        });
        var fromBob = Task.Run(() =>
        {
            for (var i = 0; i < 50; i++)
            {
                net.BobSays($"b-{i}");
            }
        });
        var fromCarol = Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await carolClient.CreatePostAsync(net.MmChannel, $"c-{i}");
            }
        });
        await Task.WhenAll(fromAlice, fromBob, fromCarol);

        await alice.WaitForAsync(ms => Count(ms, "b-") >= 50 && Count(ms, "c-") >= 50, Long, "Bob's and Carol's 50 messages");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("a-").Count >= 50 && net.MatrixMessages("c-").Count >= 50, Long,
            "Alice's and Carol's messages on Matrix", () => $"a: {net.MatrixMessages("a-").Count}, c: {net.MatrixMessages("c-").Count}");
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("a-").Count >= 50 && net.MattermostPosts("b-").Count >= 50, Long,
            "Alice's and Bob's messages on Mattermost", () => $"a: {net.MattermostPosts("a-").Count}, b: {net.MattermostPosts("b-").Count}");
        await Task.Delay(2000); // a doubled delivery or an echo would show by now

        // XMPP: from_nick is the person's name.
        ThreeNetworks.AssertXmppExactlyInOrder(alice.Messages, "b-", 50, "Bob");
        ThreeNetworks.AssertXmppExactlyInOrder(alice.Messages, "c-", 50, "carol");
        ThreeNetworks.AssertXmppExactlyInOrder(alice.Messages, "a-", 50, "Alice"); // her own reflection, never echoed back
        // Matrix: the sender is the person's puppet, carrying the person's display name.
        var alicePuppetOnMatrix = net.AssertMatrixExactlyInOrder("a-", 50, "Alice");
        var carolPuppetOnMatrix = net.AssertMatrixExactlyInOrder("c-", 50, "carol");
        Assert.NotEqual(alicePuppetOnMatrix, carolPuppetOnMatrix);
        Assert.Equal(ThreeNetworks.Expected("b-", 50), net.MatrixMessages("b-").Select(m => m.Body).ToList());
        Assert.All(net.MatrixMessages("b-"), m => Assert.Equal(net.Bob!.UserId, m.Sender));
        // Mattermost: the post author is the person's puppet user.
        var alicePuppetOnMm = net.AssertMattermostExactlyInOrder("a-", 50, "Alice");
        var bobPuppetOnMm = net.AssertMattermostExactlyInOrder("b-", 50, "Bob");
        Assert.NotEqual(alicePuppetOnMm.Id, bobPuppetOnMm.Id);
        Assert.Equal(ThreeNetworks.Expected("c-", 50), net.MattermostPosts("c-").Select(p => p.Message).ToList());
        Assert.All(net.MattermostPosts("c-"), p => Assert.Equal(net.Carol!.Id, p.UserId));
        // Carol's client saw the puppets' posts live over its WebSocket, as any Mattermost user would.
        await carolClient.ConnectWebSocketAsync();
        await alice.SayAsync("seen live");
        var live = await carolClient.WaitEventAsync("posted", message: "seen live", timeoutMs: 30_000);
        Assert.Equal(alicePuppetOnMm.Id, live?["data"]?["post"]?["user_id"]?.GetValue<string>());
        output.WriteLine(bridge.Output[^Math.Min(bridge.Output.Length, 2000)..]);
    }

    [Fact]
    public async Task Mattermost_down_for_60_seconds_the_others_keep_talking_and_it_gets_everything_once()
    {
        await using var net = await ThreeNetworks.StartAsync();
        var bridge = await net.StartBridgeAsync();
        try
        {
            await MattermostOutageAsync(net);
        }
        finally
        {
            // Shown only when the test fails.
            output.WriteLine(bridge.Output[^Math.Min(bridge.Output.Length, 30000)..]);
        }
    }

    private static async Task MattermostOutageAsync(ThreeNetworks net)
    {
        var alice = await net.AliceAsync();
        await WarmUpAllAsync(net, alice, carolClient: null);

        await net.Mm.StopAsync();
        var started = DateTime.UtcNow;
        const int rounds = 12;
        for (var i = 0; i < rounds; i++)
        {
            // XMPP and Matrix keep talking while Mattermost is down: each message crosses at once.
            await alice.SayAsync($"oa-{i}");
            await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages($"oa-{i}").Count == 1, TimeSpan.FromSeconds(10), $"oa-{i} on Matrix during the outage");
            net.BobSays($"ob-{i}");
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == $"ob-{i}"), TimeSpan.FromSeconds(10), $"ob-{i} at Alice during the outage");
            var wait = started + TimeSpan.FromSeconds(5 * (i + 1)) - DateTime.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }

        // Timers may wake a few milliseconds early against the wall clock: make the outage last its full length.
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        Assert.Equal(2 * rounds, ThreeNetworks.PendingRows(net.DatabasePath, "mm"));
        await net.Mm.StartAsync();

        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("oa-").Count >= rounds && net.MattermostPosts("ob-").Count >= rounds, Long,
            "the messages sent during the outage on Mattermost");
        await Task.Delay(1500);
        net.AssertMattermostExactlyInOrder("oa-", rounds, "Alice");
        net.AssertMattermostExactlyInOrder("ob-", rounds, "Bob");
        net.AssertMatrixExactlyInOrder("oa-", rounds, "Alice");
        ThreeNetworks.AssertXmppExactlyInOrder(alice.Messages, "ob-", rounds, "Bob");
        await net.WaitForPendingAsync("mm", 0);

        // Mattermost speaks again after the restart (new WebSocket).
        net.CarolSays("carol is back");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "carol is back" && m.FromNick == "carol"), Long, "Carol after the outage at Alice");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("carol is back").Count == 1, Long, "Carol after the outage on Matrix");
    }

    [Fact]
    public async Task Guest_puppets_on_a_server_without_guests_deliver_nothing_as_a_full_user_and_health_says_why()
    {
        var port = FreePorts.Next();
        // The sandbox's stock defaults: guest accounts off.
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { Matrix = false, MattermostGuestPuppets = true },
            b => b.Raw($"admin:\n  listen: http://127.0.0.1:{port}"));
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            var usersBefore = net.Mm.Users.Select(u => u.Id).ToHashSet();
            await alice.SayAsync("guest-1 must wait");

            // The operator is told on /healthz, naming the network and the reason.
            string health = "";
            await ThreeNetworks.WaitUntilAsync(() =>
            {
                var (status, body) = Health(http);
                health = body;
                return status == System.Net.HttpStatusCode.ServiceUnavailable && health.Contains("mm (", StringComparison.Ordinal);
            }, Long, "/healthz degraded for mm", () => health);
            Assert.Contains("guest accounts are off", health, StringComparison.Ordinal);

            // The message waits, with the reason on its outbox row; no post, and no user was created.
            await ThreeNetworks.WaitUntilAsync(() => LastError(net.DatabasePath, "mm")?.Contains("guest accounts are off", StringComparison.Ordinal) == true,
                Long, "the outbox row's reason");
            Assert.Empty(net.MattermostPosts("guest-1"));
            Assert.Equal(usersBefore, net.Mm.Users.Select(u => u.Id).ToHashSet());

            // Guests switched on in the System Console: the waiting message arrives, from a guest, and health recovers.
            net.Mm.Settings.EnableGuestAccounts = true;
            await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("guest-1").Count == 1, Long, "the waiting message on Mattermost");
            Assert.True(net.Mm.GetUser(net.MattermostPosts("guest-1")[0].UserId).IsGuest);
            await ThreeNetworks.WaitUntilAsync(() => Health(http).Status == System.Net.HttpStatusCode.OK, Long, "/healthz ok again", () => Health(http).Body);
        }
        catch
        {
            output.WriteLine(bridge.Output);
            throw;
        }
    }

    /// <summary>GET /healthz; a listener not up yet reads as no answer.</summary>
    private static (System.Net.HttpStatusCode? Status, string Body) Health(HttpClient http)
    {
        try
        {
            using var response = http.GetAsync("/healthz").GetAwaiter().GetResult();
            return (response.StatusCode, response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
        }
        catch (HttpRequestException ex)
        {
            return (null, ex.Message);
        }
    }

    private static string? LastError(string db, string network)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT last_error FROM outbox WHERE dest_network = $n ORDER BY id DESC LIMIT 1";
        cmd.Parameters.AddWithValue("$n", network);
        return cmd.ExecuteScalar() as string;
    }

    [Fact]
    public async Task Relay_mode_when_the_server_forbids_tokens_posts_with_the_persons_name_as_override()
    {
        var settings = new SandboxSettings { EnableUserAccessTokens = false, EnableBotAccountCreation = true, EnablePostUsernameOverride = true };
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { MattermostSettings = settings });
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();

        for (var i = 0; i < 10; i++)
        {
            await alice.SayAsync($"relay-{i}");
        }

        net.BobSays("bob-relayed");
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("relay-").Count >= 10 && net.MattermostPosts("bob-relayed").Count == 1, Long, "the relayed posts on Mattermost",
            () => string.Join('\n', net.MattermostPosts("relay-").Select(p => p.Message)));
        net.CarolSays("carol to relay land");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "carol to relay land"), Long, "Carol's post at Alice");
        await Task.Delay(1500);

        var fromAlice = net.MattermostPosts("relay-");
        Assert.Equal(ThreeNetworks.Expected("relay-", 10), fromAlice.Select(p => p.Message).ToList());
        var fromBob = Assert.Single(net.MattermostPosts("bob-relayed"));
        var relayBot = net.Mm.GetUser(Assert.Single(fromAlice.Append(fromBob).Select(p => p.UserId).Distinct()));
        Assert.NotEqual(net.Carol!.Id, relayBot.Id);
        Assert.All(fromAlice, p =>
        {
            Assert.Equal("Alice", p.Props["override_username"]?.GetValue<string>());
            Assert.Equal("true", p.Props["from_webhook"]?.GetValue<string>());
            Assert.Equal("Alice", p.DisplayedAuthorName);
        });
        Assert.Equal("Bob", fromBob.Props["override_username"]?.GetValue<string>());
        // No per-person users were made: tokens are forbidden.
        Assert.DoesNotContain(net.Mm.Users, u => u.Username.StartsWith("br-", StringComparison.Ordinal));
        // The relay's posts are recognised as the bridge's own: nothing comes back to XMPP or Matrix, the other way works.
        ThreeNetworks.AssertXmppExactlyInOrder(alice.Messages, "relay-", 10, "Alice");
        Assert.Single(alice.Messages, m => m.Body == "bob-relayed" && m.FromNick == "Bob");
        Assert.Single(alice.Messages, m => m.Body == "carol to relay land" && m.FromNick == "carol");
        Assert.Equal(ThreeNetworks.Expected("relay-", 10), net.MatrixMessages("relay-").Select(m => m.Body).ToList());
        Assert.Single(net.MatrixMessages("bob-relayed"));
    }

    [Fact]
    public async Task Channel_wide_mentions_are_neutralised_and_a_20000_character_message_is_split_losslessly()
    {
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { Matrix = false });
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();

        string[] loud = ["@all please read", "heads up @channel and @here!", "mention-end (@ALL)"];
        foreach (var text in loud)
        {
            await alice.SayAsync(text);
        }

        var original = LongMessage(20_000);
        Assert.Equal(20_000, CodePoints(original));
        await alice.SayAsync(original);
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == original), Long, "the long message's own reflection");

        SandboxPost[] mentions = [];
        await ThreeNetworks.WaitUntilAsync(() =>
        {
            mentions = [.. net.Mm.GetPosts(net.MmChannel).Where(p => p.Message.Contains("please read", StringComparison.Ordinal)
                || p.Message.StartsWith("heads up", StringComparison.Ordinal) || p.Message.StartsWith("mention-end", StringComparison.Ordinal))];
            return mentions.Length == 3;
        }, Long, "the three mention posts on Mattermost");
        for (var i = 0; i < loud.Length; i++)
        {
            var stored = mentions[i].Message;
            // Mattermost notifies the channel for '@' directly followed by the keyword; the stored text must never have it...
            Assert.False(ChannelWideMention().IsMatch(stored), $"'{stored}' still notifies the channel");
            // ...while it reads exactly as typed.
            Assert.Equal(loud[i], stored.Replace("\u2060", "", StringComparison.Ordinal));
        }

        var author = mentions[0].UserId;
        List<SandboxPost> parts = [];
        await ThreeNetworks.WaitUntilAsync(() =>
        {
            parts = [.. net.Mm.GetPosts(net.MmChannel).SkipWhile(p => !p.Message.StartsWith("long-start", StringComparison.Ordinal)).Where(p => p.UserId == author)];
            return parts.Sum(p => CodePoints(p.Message)) >= CodePoints(original) - 10;
        }, Long, "the long message's parts on Mattermost", () => $"{parts.Count} parts so far");
        await Task.Delay(1000);
        parts = [.. net.Mm.GetPosts(net.MmChannel).SkipWhile(p => !p.Message.StartsWith("long-start", StringComparison.Ordinal)).Where(p => p.UserId == author)];

        Assert.Equal(2, parts.Count);
        Assert.All(parts, p => Assert.True(CodePoints(p.Message) <= MaxPostSize, $"a part has {CodePoints(p.Message)} code points"));
        Assert.Equal(original, string.Concat(parts.Select(p => p.Message)));
        output.WriteLine(string.Join(", ", parts.Select(p => CodePoints(p.Message).ToString(CultureInfo.InvariantCulture))));
    }

    /// <summary>
    /// Prose with words, spaces, punctuation and emoji outside the Basic Multilingual Plane (two UTF-16 units, one code
    /// point: the server limit counts code points), exactly <paramref name="codePoints"/> long.
    /// </summary>
    private static string LongMessage(int codePoints)
    {
        var sb = new StringBuilder("long-start ");
        var n = 0;
        while (CodePoints(sb.ToString()) < codePoints - 40)
        {
            sb.Append(CultureInfo.InvariantCulture, $"word{n} ");
            if (n % 7 == 0)
            {
                sb.Append("\U0001F600, ");
            }

            n++;
        }

        var text = sb.ToString();
        var missing = codePoints - 8 - CodePoints(text);
        return text + new string('z', missing) + " longend";
    }

    private static int CodePoints(string s) => s.EnumerateRunes().Count();

    private static int Count(IReadOnlyList<ReceivedMessage> ms, string prefix) => ms.Count(m => m.Body.StartsWith(prefix, StringComparison.Ordinal));

    [GeneratedRegex(@"(?<![\p{L}\p{N}_.-])@(all|channel|here)(?![\p{L}\p{N}_-])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ChannelWideMention();

    /// <summary>Every direction works (puppets exist and are joined everywhere) before a test starts counting.</summary>
    private static async Task WarmUpAllAsync(ThreeNetworks net, XmppPerson alice, NodeMattermostClient? carolClient)
    {
        await MatrixEndToEndTests.WarmUpAsync(net, alice);
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("warm-up from alice").Count == 1 && net.MattermostPosts("warm-up from bob").Count == 1,
            Long, "the warm-ups on Mattermost");
        if (carolClient is null)
        {
            net.CarolSays("warm-up from carol");
        }
        else
        {
            await carolClient.CreatePostAsync(net.MmChannel, "warm-up from carol");
        }

        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "warm-up from carol"), Long, "Carol's warm-up at Alice");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("warm-up from carol").Count == 1, Long, "Carol's warm-up on Matrix");
    }
}
