using System.Text.Json;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Storage;
using Bridge.Host.Admin;
using Bridge.Host.Admin.Api;
using Bridge.Host.Admin.Console;

namespace Bridge.Tests.Admin;

/// <summary>
/// The admin API's and the web console's answers are written by a context generated at build time (AdminJsonContext),
/// so that they need no reflection at run time (Native AOT). They are an API contract (the CLI, the console's page,
/// operators' scripts): each is byte for byte what the reflection-based serializer wrote for the anonymous object or
/// record it replaces, with the web defaults the endpoints used (<c>JsonSerializerDefaults.Web</c>).
/// </summary>
public sealed class AdminJsonContractTests
{
    private static readonly JsonSerializerOptions Old = new(JsonSerializerDefaults.Web);

    private static readonly DateTimeOffset At = new(2026, 12, 7, 11, 0, 0, 123, TimeSpan.FromHours(1));

    private static readonly DeadLetter Letter = new(42, "link-1", new ChannelRef("org-a", "room@muc.a"), "org-b", "id/<1>", "refused: \"quota\" ✓", 5, At);

    private static readonly DestinationPolicy Policy = new("org-b", false, ["org-c"], "secret", 2, "strip", null, 1, 500, true, false);

    [Fact]
    public void Status_and_the_raw_dead_letters_are_written_as_before()
    {
        var status = new StatusView(new InstanceView("host:1", "active", At, null), [new StatusConnectorView("org-a", "xmpp", true, null, 3), new StatusConnectorView("org-b", "matrix", false, "no «token»", null)]);
        var old = new
        {
            instance = new { name = "host:1", role = "active", since = At, holder = (string?)null },
            connectors = new List<object>
            {
                new { network = "org-a", kind = "xmpp", ready = true, degraded = (string?)null, pending = (int?)3 },
                new { network = "org-b", kind = "matrix", ready = false, degraded = (string?)"no «token»", pending = (int?)null },
            },
        };

        Assert.Equal(JsonSerializer.Serialize(old, Old), JsonSerializer.Serialize(status, AdminJsonContext.Default.StatusView));
        IReadOnlyList<DeadLetter> letters = [Letter];
        Assert.Equal(JsonSerializer.Serialize(letters, Old), JsonSerializer.Serialize(letters, AdminJsonContext.Default.IReadOnlyListDeadLetter));
    }

    [Fact]
    public void Operations_answers_are_written_as_before()
    {
        var oldLetter = new
        {
            id = Letter.OutboxId, link = Letter.LinkId, network = Letter.Destination.NetworkId, channel = Letter.Destination.ChannelId, originNetwork = Letter.OriginNetwork,
            originId = Letter.OriginNativeId, reason = Letter.Reason, attempts = Letter.Attempts, at = Letter.At,
        };
        var oldNetwork = new { id = "org-a", kind = "mattermost", ready = true, degraded = (string?)"catching up", puppets = 7 };
        IReadOnlyList<PuppetInfo> puppets = [new PuppetInfo("u1", "Alice", ["c1", "c2"]), new PuppetInfo("u2", null, [], "org-b:bob")];

        Assert.Equal(JsonSerializer.Serialize(new object[] { oldLetter }, Old), JsonSerializer.Serialize([OperationsApi.View(Letter)], AdminJsonContext.Default.ListDeadLetterView));
        Assert.Equal(JsonSerializer.Serialize(new object[] { oldNetwork }, Old), JsonSerializer.Serialize([new NetworkView("org-a", "mattermost", true, "catching up", 7)], AdminJsonContext.Default.ListNetworkView));
        Assert.Equal(JsonSerializer.Serialize(puppets, Old), JsonSerializer.Serialize(puppets, AdminJsonContext.Default.IReadOnlyListPuppetInfo));
        Assert.Equal(JsonSerializer.Serialize(new { id = 42L, state = "pending" }, Old), JsonSerializer.Serialize(new DeadLetterStateView(42, "pending"), AdminJsonContext.Default.DeadLetterStateView));
        Assert.Equal(JsonSerializer.Serialize(new ApiErrorBody("no link 'x'", null), Old), JsonSerializer.Serialize(new ApiErrorBody("no link 'x'", null), AdminJsonContext.Default.ApiErrorBody));
    }

    [Fact]
    public void Links_and_portals_are_written_as_before()
    {
        var link = new LinkView("l<1>", "api", true, null, [new EndpointView("org-a", "room@muc.a", "en"), new EndpointView("org-b", "#x:b", null)], At, "token ‘ops’");
        var portal = new DirectPortalView("dm-1", At, true, [new DirectPartyView("org-a", "u", "c", "Ü & Ö")]);

        Assert.Equal(JsonSerializer.Serialize(link, Old), JsonSerializer.Serialize(link, AdminJsonContext.Default.LinkView));
        Assert.Equal(JsonSerializer.Serialize(new[] { link }, Old), JsonSerializer.Serialize([link], AdminJsonContext.Default.ListLinkView));
        Assert.Equal(JsonSerializer.Serialize(portal, Old), JsonSerializer.Serialize(portal, AdminJsonContext.Default.DirectPortalView));
        Assert.Equal(JsonSerializer.Serialize(new[] { portal }, Old), JsonSerializer.Serialize([portal], AdminJsonContext.Default.ListDirectPortalView));
    }

    [Fact]
    public void The_consoles_answers_are_written_as_before()
    {
        var network = new NetworkState("org-a", "xmpp", true, null, "rate limited", 4, 2, 1, 3, "lost <stream>", At);
        IReadOnlyList<DestinationPolicy> policies = [Policy];
        var overview = new OverviewView(new InstanceView("host:1", "single", At, "other"), At, [network], "fp:1",
            [new OverviewLinkView("l1", "file", false, [new EndpointView("org-a", "room", null)], policies)]);
        var oldOverview = new
        {
            instance = new { name = "host:1", role = "single", since = At, holder = (string?)"other" },
            at = At,
            networks = (IReadOnlyList<NetworkState>)[network],
            policyFingerprint = (string?)"fp:1",
            links = new[] { "l1" }.Select(id => new
            {
                id,
                source = "file",
                paused = false,
                endpoints = new[] { "org-a" }.Select(n => new { network = n, channel = "room", language = (string?)null }),
                policy = policies,
            }),
        };

        Assert.Equal(JsonSerializer.Serialize(oldOverview, Old), JsonSerializer.Serialize(overview, AdminJsonContext.Default.OverviewView));
        Assert.Equal(JsonSerializer.Serialize(new { tokenRequired = true }, Old), JsonSerializer.Serialize(new ConsoleAccessView(true), AdminJsonContext.Default.ConsoleAccessView));
        Assert.Equal(JsonSerializer.Serialize(new { link = (string?)"l1", policy = policies }, Old), JsonSerializer.Serialize(new PolicyAnswerView("l1", policies), AdminJsonContext.Default.PolicyAnswerView));
        var verify = new { ok = false, records = 10L, head = (string?)"10:ab", keyedFrom = (long?)3, firstBroken = (long?)7, problem = (string?)"hash of record 7 <differs>" };
        Assert.Equal(JsonSerializer.Serialize(verify, Old),
            JsonSerializer.Serialize(new AuditVerifyView(false, 10, "10:ab", 3, 7, "hash of record 7 <differs>"), AdminJsonContext.Default.AuditVerifyView));
    }

    [Fact]
    public void An_audit_page_is_written_as_before_and_never_holds_content_or_hashes()
    {
        var entry = new AuditDraft
        {
            At = At, Kind = "delivery", LinkId = "l1", EventKey = "org-a/1", SourceNetwork = "org-a", SourcePerson = "alice", Destination = "org-b:room",
            Decision = "blocked", RuleId = "r1", Label = "secret", ContentHash = "h", Content = "the text",
        };
        var page = new AuditPage([new AuditRecord { Sequence = 9, Entry = entry, PreviousHash = "p", Hash = "q", KeyId = "k" }], 12, 1, true);
        var old = new
        {
            head = page.Head,
            scannedFrom = page.ScannedFrom,
            complete = page.Complete,
            records = page.Records.Select(r => new
            {
                seq = r.Sequence, at = r.Entry.At, kind = r.Entry.Kind, link = r.Entry.LinkId, eventKey = r.Entry.EventKey, sourceNetwork = r.Entry.SourceNetwork,
                sourcePerson = r.Entry.SourcePerson, destination = r.Entry.Destination, decision = r.Entry.Decision, rule = r.Entry.RuleId, label = r.Entry.Label,
            }),
        };

        var json = JsonSerializer.Serialize(AuditPageView.Of(page), AdminJsonContext.Default.AuditPageView);

        Assert.Equal(JsonSerializer.Serialize(old, Old), json);
        Assert.DoesNotContain("the text", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Request_bodies_are_read_strictly_as_before()
    {
        const string body = """{"ID":"l1","endpoints":[{"network":"a","channel":"c"}],"paused":true}""";
        var read = JsonSerializer.Deserialize(body, AdminRequestJsonContext.Default.CreateLinkRequest)!;
        Assert.Equal("l1", read.Id); // any case, as the web defaults read it
        Assert.True(read.Paused);
        Assert.Equal("c", Assert.Single(read.Endpoints!).Channel);

        var unknown = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize("""{"endpoints":[{"network":"a","chanel":"c"}]}""", AdminRequestJsonContext.Default.CreateLinkRequest));
        Assert.Contains("could not be mapped", unknown.Message, StringComparison.Ordinal);
        Assert.Equal("$.endpoints[0].chanel", unknown.Path);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize("""{"paused":"yes"}""", AdminRequestJsonContext.Default.UpdateLinkRequest));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize("""{"network":"a","extra":1}""", AdminRequestJsonContext.Default.EndpointSpec));
    }
}
