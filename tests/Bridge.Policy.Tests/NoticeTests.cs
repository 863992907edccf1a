using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

/// <summary>What senders are told: nothing that a barrier hides, and one notice per person per window.</summary>
public class NoticeTests
{
    private static readonly NetworkDefinition A = Network("org-a", "A");
    private static readonly NetworkDefinition B = Network("org-b", "B");
    private static readonly NetworkDefinition C = Network("org-c", "C", clearance: "CUI");

    [Fact]
    public void A_barrier_gives_no_notice_by_default_for_any_kind_of_event()
    {
        var policy = Compile("policy: { barriers: [[A, B]] }");
        var message = Message("org-a", "hi");
        foreach (var e in new[] { message, message with { Kind = BridgeEventKind.Edit }, message with { Kind = BridgeEventKind.Reaction, ReactionKey = "+1" } })
        {
            var d = Decide(policy, e, A, B);
            Assert.Equal(PolicyVerdict.Block, d.Verdict);
            Assert.Equal("barrier", d.RuleId);
            Assert.Null(d.SenderNotice);
        }
    }

    [Fact]
    public void The_opt_in_barrier_notice_names_no_network_organisation_or_person()
    {
        var policy = Compile("policy: { barrierNotice: generic, barriers: [[Alpha-Org, Bravo-Org]] }");
        var alpha = Network("alpha-net", "Alpha-Org");
        var bravo = Network("bravo-net", "Bravo-Org");
        var d = Decide(policy, Message("alpha-net", "hi", user: "@alice:alpha.example"), alpha, bravo);
        Assert.Equal("barrier", d.RuleId);
        Assert.Equal("Your message was not shared with every participant.", d.SenderNotice);
        foreach (var hidden in new[] { "bravo", "Bravo", "org", "network", "barrier", "alice", "alpha" })
        {
            Assert.DoesNotContain(hidden, d.SenderNotice!, StringComparison.OrdinalIgnoreCase);
        }

        // The same sentence whoever is behind it: nothing varies with the barred side.
        var other = Network("charlie-net", "Charlie-Org");
        var policy2 = Compile("policy: { barrierNotice: generic, barriers: [[Alpha-Org, Charlie-Org]] }");
        Assert.Equal(d.SenderNotice, Decide(policy2, Message("alpha-net", "hi"), alpha, other).SenderNotice);
    }

    [Theory]
    [InlineData("barrierNotice: loud", "policy:barrierNotice")]
    [InlineData("noticeWindow: 0", "policy:noticeWindow")]
    [InlineData("noticeWindow: soon", "policy:noticeWindow")]
    [InlineData("noticeWindow: 86401", "policy:noticeWindow")]
    public void Bad_notice_settings_are_refused_with_their_key(string setting, string key)
    {
        var result = PolicyCompiler.Compile(Yaml($"policy: {{ {setting} }}").GetSection("policy"));
        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Key == key);
    }

    [Fact]
    public void Notice_settings_are_compiled_and_default_to_silence_and_a_minute()
    {
        Assert.Equal(NoticeSettings.Default, Compile("policy: { labels: [A, B] }").NoticeSettings);
        Assert.Equal(new NoticeSettings(BarrierNoticeMode.Generic, TimeSpan.FromSeconds(5)), Compile("policy: { barrierNotice: Generic, noticeWindow: 5 }").NoticeSettings);
    }

    [Fact]
    public async Task With_a_barrier_and_another_block_the_notice_names_only_the_network_the_sender_may_know()
    {
        var policy = Compile("policy: { labels: [UNCLASSIFIED, CUI, SECRET], barriers: [[A, B]] }");
        await using var rig = await RouterRig.CreateAsync([A, B, C], policy);
        await rig.Router.IngestAsync(Message("org-a", "[SECRET] plan"), CancellationToken.None);
        await WaitForAsync(() => rig.Notices.Count > 0);
        await Task.Delay(200); // a second (wrong) notice would come from the same ingest, right after the first
        var (network, notice) = Assert.Single(rig.Notices);
        Assert.Equal("org-a", network);
        Assert.Equal("Your message was not shared with network 'org-c' (rule: clearance).", notice);
        Assert.DoesNotContain("org-b", notice, StringComparison.Ordinal);
        Assert.DoesNotContain("barrier", notice, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blocked_burst_gives_one_notice_per_person_per_window()
    {
        var clock = new ManualClock();
        var policy = Compile("policy: { labels: [UNCLASSIFIED, CUI, SECRET], noticeWindow: 60 }");
        await using var rig = await RouterRig.CreateAsync([A, C], policy, time: clock);
        for (var i = 0; i < 20; i++)
        {
            await rig.Router.IngestAsync(Message("org-a", $"[SECRET] burst {i}"), CancellationToken.None);
        }

        // Another person is not held back by Alice's burst.
        await rig.Router.IngestAsync(Message("org-a", "[SECRET] mine", user: "@bob:a.example"), CancellationToken.None);
        await WaitForAsync(() => rig.Notices.Count >= 2);
        await Task.Delay(200);
        Assert.Equal(2, rig.Notices.Count);

        clock.Advance(TimeSpan.FromSeconds(59));
        await rig.Router.IngestAsync(Message("org-a", "[SECRET] still within"), CancellationToken.None);
        await Task.Delay(200);
        Assert.Equal(2, rig.Notices.Count);

        clock.Advance(TimeSpan.FromSeconds(2));
        await rig.Router.IngestAsync(Message("org-a", "[SECRET] next window"), CancellationToken.None);
        await WaitForAsync(() => rig.Notices.Count >= 3);
        Assert.Equal(3, rig.Notices.Count);
    }

    [Fact]
    public void The_limiter_forgets_people_rather_than_grow_without_bound()
    {
        var clock = new ManualClock();
        var limiter = new SenderNoticeLimiter(clock);
        var window = TimeSpan.FromMinutes(1);
        for (var i = 0; i < SenderNoticeLimiter.Capacity + 500; i++)
        {
            Assert.True(limiter.TryAcquire("n", "@u" + i, window));
        }

        Assert.Equal(SenderNoticeLimiter.Capacity, limiter.Count);
        Assert.False(limiter.TryAcquire("n", "@u" + (SenderNoticeLimiter.Capacity + 499), window));
        clock.Advance(window);
        Assert.True(limiter.TryAcquire("n", "@u1", window));
        Assert.True(limiter.TryAcquire("other", "@u1", window)); // the same id on another network is another person
        Assert.True(limiter.TryAcquire("n", "@late", window));
        Assert.True(limiter.Count <= SenderNoticeLimiter.Capacity);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition(), "condition not met in time");
    }

    /// <summary>A clock that moves only when told.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
