using System.Text;
using System.Text.Json.Nodes;
using Bridge.Testing;
using Sandbox.Mattermost.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Every kind of event from every network, checked on both other networks, each as a person there sees it: a message,
/// a reply to it, an edit, a reaction, the reaction taken back, and the message deleted. Alice is a slixmpp client on
/// real Prosody, Bob speaks through the sandbox homeserver's client path, Carol through the official
/// <c>@mattermost/client</c>. The whole matrix is printed, then every cell must hold.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class EventKindMatrixEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CellWait = TimeSpan.FromSeconds(30);
    private static readonly string[] Kinds = ["message", "reply", "edit", "reaction", "reaction removed", "delete"];
    private const string Thumbs = "👍";

    [Fact]
    public async Task Each_kind_from_each_network_reaches_both_others_as_that_kind()
    {
        await using var net = await ThreeNetworks.StartAsync();
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        await using var carol = await NodeMattermostClient.StartAsync(net.Mm.BaseUrl);
        await carol.LoginAsync("carol", "Passw0rd!");
        var view = new Views(net, alice);

        // Everyone has spoken once, so every puppet exists before the matrix starts.
        await alice.SayAsync("kx-warm-x");
        net.BobSays("kx-warm-m");
        await carol.CreatePostAsync(net.MmChannel, "kx-warm-t");
        await ThreeNetworks.WaitUntilAsync(() => view.Xmpp("kx-warm-m") is not null && view.Xmpp("kx-warm-t") is not null
            && view.Matrix("kx-warm-x") is not null && view.Matrix("kx-warm-t") is not null
            && view.Mattermost("kx-warm-x") is not null && view.Mattermost("kx-warm-m") is not null, ThreeNetworks.Long, "the warm-up on every network");

        var results = new Dictionary<(string Kind, string From, string To), bool>();
        foreach (var origin in new IOrigin[] { new XmppOrigin(alice), new MatrixOrigin(net), new MattermostOrigin(net, carol) })
        {
            var text = $"kx-{origin.Tag}-msg";
            var edited = text + " edited";
            var reply = $"kx-{origin.Tag}-reply";
            var destinations = Views.Networks.Where(n => n != origin.Network).ToArray();

            await origin.SayAsync(text);
            await CheckAsync(results, "message", origin, destinations, to => view.Find(to, text) is not null);
            var copies = destinations.ToDictionary(to => to, to => view.Find(to, text));

            await origin.ReplyAsync(reply);
            await CheckAsync(results, "reply", origin, destinations, to => copies[to] is { } c && view.IsReplyTo(to, reply, c));

            await origin.EditAsync(edited);
            await CheckAsync(results, "edit", origin, destinations, to => copies[to] is { } c && view.IsEdited(to, c, edited));

            await origin.ReactAsync();
            await CheckAsync(results, "reaction", origin, destinations, to => copies[to] is { } c && view.HasThumbs(to, c));

            await origin.UnreactAsync();
            await CheckAsync(results, "reaction removed", origin, destinations, to => copies[to] is { } c && !view.HasThumbs(to, c) && view.HadThumbs(to, c));

            await origin.DeleteAsync();
            await CheckAsync(results, "delete", origin, destinations, to => copies[to] is { } c && view.IsDeleted(to, c));
        }

        var table = new StringBuilder("EVENT KINDS x DIRECTED PAIRS (real Prosody, sandbox homeserver, sandbox Mattermost with @mattermost/client)\n");
        var pairs = results.Keys.Select(k => (k.From, k.To)).Distinct().ToList();
        table.AppendLine("kind             | " + string.Join(" | ", pairs.Select(p => $"{p.From}->{p.To}")));
        foreach (var kind in Kinds)
        {
            table.AppendLine($"{kind,-16} | " + string.Join(" | ", pairs.Select(p =>
            {
                var cell = results.TryGetValue((kind, p.From, p.To), out var ok) && ok ? "ok" : "MISSING";
                return cell.PadRight($"{p.From}->{p.To}".Length);
            })));
        }

        output.WriteLine(table.ToString());
        Assert.All(results, r => Assert.True(r.Value, $"{r.Key.Kind} {r.Key.From}->{r.Key.To} did not arrive as that kind\n{table}"));
    }

    /// <summary>
    /// The policy decides each kind (classification-rules R-K2..R-K4): with Matrix cleared only to CUI, a SECRET message
    /// from XMPP and one from Mattermost reach the other SECRET network with their reply, edit, reaction, removal and
    /// deletion, while on Matrix the reply arrives as a plain message without the parent's text or relation, and
    /// nothing else of the SECRET message ever appears.
    /// </summary>
    [Fact]
    public async Task Each_kind_of_a_secret_message_reaches_only_the_cleared_network_and_the_reply_alone_crosses_plain()
    {
        await using var net = await ThreeNetworks.StartAsync(configure: b => b.Raw("policy:\n  labels: [UNCLASSIFIED, CUI, SECRET]"));
        var yaml = await File.ReadAllTextAsync(net.ConfigPath);
        foreach (var (org, clearance) in new[] { ("org-xmpp", "SECRET"), ("org-mm", "SECRET"), ("org-matrix", "CUI") })
        {
            Assert.Contains($"    organisation: {org}\n", yaml, StringComparison.Ordinal);
            yaml = yaml.Replace($"    organisation: {org}\n", $"    organisation: {org}\n    clearance: {clearance}\n    defaultLabel: UNCLASSIFIED\n", StringComparison.Ordinal);
        }

        await File.WriteAllTextAsync(net.ConfigPath, yaml);
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        await using var carol = await NodeMattermostClient.StartAsync(net.Mm.BaseUrl);
        await carol.LoginAsync("carol", "Passw0rd!");
        var view = new Views(net, alice, exact: false);
        await alice.SayAsync("kp-warm-x");
        await carol.CreatePostAsync(net.MmChannel, "kp-warm-t");
        await ThreeNetworks.WaitUntilAsync(() => view.Matrix("kp-warm-x") is not null && view.Matrix("kp-warm-t") is not null
            && view.Xmpp("kp-warm-t") is not null && view.Mattermost("kp-warm-x") is not null, ThreeNetworks.Long, "the warm-up on every network");

        var results = new Dictionary<(string Kind, string From, string To), bool>();
        foreach (var origin in new IOrigin[] { new XmppOrigin(alice), new MattermostOrigin(net, carol) })
        {
            var secret = $"kp-{origin.Tag}-secretword";
            var text = $"[SECRET] {secret}";
            var reply = $"kp-{origin.Tag}-reply";
            var cleared = origin.Network == "xmpp" ? "mm" : "xmpp";
            string[] clearedOnly = [cleared];

            await origin.SayAsync(text);
            await CheckAsync(results, "message", origin, clearedOnly, to => view.Find(to, secret) is not null);
            var copy = view.Find(cleared, secret);
            await origin.ReplyAsync(reply);
            await CheckAsync(results, "reply", origin, clearedOnly, to => copy is not null && view.IsReplyTo(to, reply, copy));
            // On Matrix the reply is a message of its own: no relation, and none of the parent's words.
            await ThreeNetworks.WaitUntilAsync(() => view.Matrix(reply) is not null, ThreeNetworks.Long, $"{reply} on Matrix");
            var plain = net.Hs.GetMessages(net.MatrixRoom).Single(e => e["content"]?["body"]?.GetValue<string>().Contains(reply, StringComparison.Ordinal) == true);
            Assert.Null(plain["content"]!["m.relates_to"]);
            Assert.DoesNotContain(secret, plain["content"]!.ToJsonString(), StringComparison.Ordinal);

            await origin.EditAsync($"[SECRET] {secret} edited");
            await CheckAsync(results, "edit", origin, clearedOnly, to => copy is not null && view.IsEdited(to, copy, secret + " edited"));
            await origin.ReactAsync();
            await CheckAsync(results, "reaction", origin, clearedOnly, to => copy is not null && view.HasThumbs(to, copy));
            await origin.UnreactAsync();
            await CheckAsync(results, "reaction removed", origin, clearedOnly, to => copy is not null && !view.HasThumbs(to, copy) && view.HadThumbs(to, copy));
            await origin.DeleteAsync();
            await CheckAsync(results, "delete", origin, clearedOnly, to => copy is not null && view.IsDeleted(to, copy));
        }

        // Later messages reached Matrix, so everything before them was routed, and none of it there.
        await alice.SayAsync("kp-after-x");
        await carol.CreatePostAsync(net.MmChannel, "kp-after-t");
        await ThreeNetworks.WaitUntilAsync(() => view.Matrix("kp-after-x") is not null && view.Matrix("kp-after-t") is not null, ThreeNetworks.Long, "the later messages on Matrix");
        var onMatrix = net.Hs.GetTimeline(net.MatrixRoom).Where(e => e["sender"]!.GetValue<string>() != net.Bob!.UserId).ToList();
        Assert.DoesNotContain(onMatrix, e => e.ToJsonString().Contains("secretword", StringComparison.Ordinal));
        Assert.DoesNotContain(onMatrix, e => e["type"]?.GetValue<string>() is "m.reaction" or "m.room.redaction");
        Assert.DoesNotContain(onMatrix, e => e["content"]?["m.relates_to"]?["rel_type"]?.GetValue<string>() == "m.replace");
        Assert.All(results, r => Assert.True(r.Value, $"{r.Key.Kind} {r.Key.From}->{r.Key.To} did not arrive on the cleared network"));
        output.WriteLine($"POLICY x KIND: {results.Count} cells on the cleared network ok; on Matrix (cleared CUI): {onMatrix.Count} bridged events, none of the SECRET messages' kinds");
    }

    private static async Task CheckAsync(Dictionary<(string, string, string), bool> results, string kind, IOrigin origin, string[] destinations, Func<string, bool> arrived)
    {
        var deadline = DateTime.UtcNow + CellWait;
        var pending = destinations.ToList();
        while (pending.Count > 0 && DateTime.UtcNow < deadline)
        {
            pending.RemoveAll(to => arrived(to));
            await Task.Delay(50);
        }

        foreach (var to in destinations)
        {
            results[(kind, origin.Network, to)] = !pending.Contains(to);
        }
    }

    /// <summary>A copy made by the bridge on one network: its id there (XMPP: the message id and the room's stanza-id).</summary>
    private sealed record Copy(string Id, string? StanzaId = null)
    {
        public bool Is(string? id) => id is not null && (id == Id || id == StanzaId);
    }

    /// <summary>What each person sees, on each network, of what the bridge made there.</summary>
    private sealed class Views(ThreeNetworks net, XmppPerson alice, bool exact = true)
    {
        public static readonly string[] Networks = ["xmpp", "matrix", "mm"];

        public Copy? Find(string network, string body) => network switch
        {
            "xmpp" => Xmpp(body),
            "matrix" => Matrix(body),
            _ => Mattermost(body),
        };

        public Copy? Xmpp(string body) =>
            alice.Messages.Where(m => m.FromNick != "Alice" && Same(m.Body, body) && m.ReplaceId is null).Select(m => new Copy(m.Id ?? "", m.StanzaId)).FirstOrDefault();

        public Copy? Matrix(string body) =>
            net.Hs.GetMessages(net.MatrixRoom).Where(e => Sender(e) != net.Bob!.UserId && Same(Body(e), body)).Select(e => new Copy(EventId(e))).FirstOrDefault();

        public Copy? Mattermost(string body) =>
            net.Mm.GetPosts(net.MmChannel).Where(p => p.UserId != net.Carol!.Id && Same(p.Message, body)).Select(p => new Copy(p.Id)).FirstOrDefault();

        public bool IsReplyTo(string network, string body, Copy target) => network switch
        {
            "xmpp" => alice.Messages.Any(m => m.FromNick != "Alice" && m.Body.Contains(body, StringComparison.Ordinal) && target.Is(m.ReplyId)),
            "matrix" => net.Hs.GetMessages(net.MatrixRoom).Any(e => Sender(e) != net.Bob!.UserId && Body(e).Contains(body, StringComparison.Ordinal)
                && e["content"]?["m.relates_to"] is JsonObject r
                && (target.Is(r["m.in_reply_to"]?["event_id"]?.GetValue<string>()) || target.Is(r["event_id"]?.GetValue<string>()))),
            _ => net.Mm.GetPosts(net.MmChannel).Any(p => p.UserId != net.Carol!.Id && p.Message.Contains(body, StringComparison.Ordinal) && target.Is(p.RootId)),
        };

        public bool IsEdited(string network, Copy target, string newText) => network switch
        {
            "xmpp" => alice.Messages.Any(m => m.FromNick != "Alice" && target.Is(m.ReplaceId) && m.Body.Contains(newText, StringComparison.Ordinal)),
            "matrix" => net.Hs.GetMessages(net.MatrixRoom).Any(e => e["content"]?["m.relates_to"] is JsonObject r
                && r["rel_type"]?.GetValue<string>() == "m.replace" && target.Is(r["event_id"]?.GetValue<string>())
                && Same(e["content"]?["m.new_content"]?["body"]?.GetValue<string>() ?? "", newText)),
            _ => net.Mm.GetPosts(net.MmChannel).Any(p => target.Is(p.Id) && Same(p.Message, newText) && p.EditAt > 0),
        };

        public bool HasThumbs(string network, Copy target) => network switch
        {
            "xmpp" => alice.Reactions.LastOrDefault(r => r.FromNick != "Alice" && target.Is(r.TargetId)) is { } last && last.Keys.Contains(Thumbs),
            "matrix" => MatrixThumbs(target).Any(e => !Redacted(e)),
            _ => net.Mm.GetPosts(net.MmChannel).Any(p => target.Is(p.Id) && p.Reactions.Any(r => r.EmojiName == "+1" && r.UserId != net.Carol!.Id)),
        };

        /// <summary>The reaction was shown there before (so "not shown now" means taken back, not never sent).</summary>
        public bool HadThumbs(string network, Copy target) => network switch
        {
            "xmpp" => alice.Reactions.Any(r => r.FromNick != "Alice" && target.Is(r.TargetId) && r.Keys.Contains(Thumbs)),
            "matrix" => MatrixThumbs(target).Any(),
            // The sandbox keeps no history of removed reactions; the "reaction" cell before this one saw it shown.
            _ => true,
        };

        public bool IsDeleted(string network, Copy target) => network switch
        {
            "xmpp" => alice.Retractions.Any(r => r.FromNick != "Alice" && target.Is(r.TargetId)),
            "matrix" => net.Hs.GetTimeline(net.MatrixRoom).Any(e => target.Is(EventId(e)) && Redacted(e)),
            _ => net.Mm.GetPosts(net.MmChannel).Any(p => target.Is(p.Id) && p.IsDeleted),
        };

        /// <summary>Exact, or (with labels, which put a visible marker in front) the text contained.</summary>
        private bool Same(string shown, string text) => exact ? shown == text : shown.Contains(text, StringComparison.Ordinal);

        private IEnumerable<JsonObject> MatrixThumbs(Copy target) =>
            net.Hs.GetTimeline(net.MatrixRoom).Where(e => e["type"]?.GetValue<string>() == "m.reaction" && Sender(e) != net.Bob!.UserId
                && (Redacted(e) ? RedactedRelation(e, target) : e["content"]?["m.relates_to"] is JsonObject r && target.Is(r["event_id"]?.GetValue<string>()) && r["key"]?.GetValue<string>() == Thumbs));

        // A redacted reaction keeps its m.relates_to in the redaction algorithm of room versions 11+; older ones keep nothing,
        // so a redacted reaction by a puppet counts as this one only when its relation is still there to match.
        private static bool RedactedRelation(JsonObject e, Copy target) =>
            e["content"]?["m.relates_to"] is not JsonObject r || target.Is(r["event_id"]?.GetValue<string>());

        private static bool Redacted(JsonObject e) => e["unsigned"]?["redacted_because"] is not null;

        private static string Sender(JsonObject e) => e["sender"]!.GetValue<string>();

        private static string EventId(JsonObject e) => e["event_id"]!.GetValue<string>();

        private static string Body(JsonObject e) => e["content"]?["body"]?.GetValue<string>() ?? "";
    }

    private interface IOrigin
    {
        string Network { get; }

        string Tag { get; }

        Task SayAsync(string text);

        Task ReplyAsync(string text);

        Task EditAsync(string text);

        Task ReactAsync();

        Task UnreactAsync();

        Task DeleteAsync();
    }

    /// <summary>Alice on XMPP: XEP-0461 reply, XEP-0308 correction, XEP-0444 full sets, XEP-0424 retraction.</summary>
    private sealed class XmppOrigin(XmppPerson alice) : IOrigin
    {
        private string _id = "", _stanzaId = "";

        public string Network => "xmpp";

        public string Tag => "x";

        public async Task SayAsync(string text)
        {
            _id = await alice.SayConfirmedAsync(text);
            var own = await alice.WaitForMessagesAsync(m => m.FromNick == "Alice" && m.Id == _id && m.StanzaId is not null, 1, ThreeNetworks.Long);
            _stanzaId = own[0].StanzaId!;
        }

        public Task ReplyAsync(string text) => alice.SayAsync(text, thread: null, replyTo: _stanzaId);

        public Task EditAsync(string text) => alice.CorrectAsync(_id, text);

        public Task ReactAsync() => alice.ReactSetAsync(_stanzaId, [Thumbs]);

        public Task UnreactAsync() => alice.ReactSetAsync(_stanzaId, []);

        public Task DeleteAsync() => alice.RetractAsync(_stanzaId);
    }

    /// <summary>Bob on Matrix: rich reply, <c>m.replace</c>, <c>m.reaction</c> and its redaction, redaction of the message.</summary>
    private sealed class MatrixOrigin(ThreeNetworks net) : IOrigin
    {
        private string _eventId = "", _reactionId = "";

        public string Network => "matrix";

        public string Tag => "m";

        private string Bob => net.Bob!.UserId;

        public Task SayAsync(string text)
        {
            _eventId = net.Hs.SendMessage(net.MatrixRoom, Bob, text);
            return Task.CompletedTask;
        }

        public Task ReplyAsync(string text)
        {
            net.Hs.SendEvent(net.MatrixRoom, Bob, "m.room.message", new JsonObject
            {
                ["msgtype"] = "m.text",
                ["body"] = text,
                ["m.relates_to"] = new JsonObject { ["m.in_reply_to"] = new JsonObject { ["event_id"] = _eventId } },
            });
            return Task.CompletedTask;
        }

        public Task EditAsync(string text)
        {
            net.Hs.SendEvent(net.MatrixRoom, Bob, "m.room.message", new JsonObject
            {
                ["msgtype"] = "m.text",
                ["body"] = "* " + text,
                ["m.new_content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = text },
                ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.replace", ["event_id"] = _eventId },
            });
            return Task.CompletedTask;
        }

        public Task ReactAsync()
        {
            _reactionId = net.Hs.SendEvent(net.MatrixRoom, Bob, "m.reaction", new JsonObject
            {
                ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.annotation", ["event_id"] = _eventId, ["key"] = Thumbs },
            });
            return Task.CompletedTask;
        }

        public Task UnreactAsync()
        {
            net.Hs.Redact(net.MatrixRoom, Bob, _reactionId);
            return Task.CompletedTask;
        }

        public Task DeleteAsync()
        {
            net.Hs.Redact(net.MatrixRoom, Bob, _eventId);
            return Task.CompletedTask;
        }
    }

    /// <summary>Carol with the official client: a thread reply (Mattermost's reply), patchPost, addReaction/removeReaction, deletePost.</summary>
    private sealed class MattermostOrigin(ThreeNetworks net, NodeMattermostClient carol) : IOrigin
    {
        private string _postId = "";

        public string Network => "mm";

        public string Tag => "t";

        public async Task SayAsync(string text) =>
            _postId = (await carol.CreatePostAsync(net.MmChannel, text))!["id"]!.GetValue<string>();

        public Task ReplyAsync(string text) => carol.CreatePostAsync(net.MmChannel, text, rootId: _postId);

        public Task EditAsync(string text) => carol.Client4Async("patchPost", [new JsonObject { ["id"] = _postId, ["message"] = text }]);

        public Task ReactAsync() => carol.AddReactionAsync(_postId, "+1");

        public Task UnreactAsync() => carol.Client4Async("removeReaction", [net.Carol!.Id, _postId, "+1"]);

        public Task DeleteAsync() => carol.Client4Async("deletePost", [_postId]);
    }
}
