using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace Bridge.Tests.Core;

/// <summary>
/// R-K2: an edit reaches only networks that received the original and are cleared for the edit's label; an edit that
/// raises the label above a recipient's clearance retracts the copy there, through the same ordered outbox.
/// </summary>
public sealed class EditRetractionTests
{
    /// <summary>a (the source), b cleared LOW only, c cleared HIGH; one room linked on all three.</summary>
    private static (BridgeTopology Topology, CompiledPolicy Policy) Setup()
    {
        var networks = new[]
        {
            new NetworkDefinition { Id = "a", Kind = NetworkKind.Xmpp, Organisation = "org-a", Clearance = "HIGH", DefaultLabel = "LOW" },
            new NetworkDefinition { Id = "b", Kind = NetworkKind.Matrix, Organisation = "org-b", Clearance = "LOW" },
            new NetworkDefinition { Id = "c", Kind = NetworkKind.Mattermost, Organisation = "org-c", Clearance = "HIGH" },
        };
        var topology = new BridgeTopology(networks,
            [new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef("a", "room"), new ChannelRef("b", "room"), new ChannelRef("c", "room")] }]);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["policy:labels:0"] = "LOW",
            ["policy:labels:1"] = "HIGH",
            ["policy:notices"] = "false",
        }).Build();
        var compiled = PolicyCompiler.Compile(config.GetSection("policy"), topology);
        Assert.True(compiled.Succeeded, string.Join("; ", compiled.Errors));
        return (topology, compiled.Policy!);
    }

    private static BridgeEvent Edit(string nativeId, string target, string text) =>
        CoreHarness.Message("a", "room", nativeId, text) with { Kind = BridgeEventKind.Edit, TargetNativeId = target };

    private static async Task DrainAsync(CoreHarness h, string network)
    {
        var worker = h.Worker(network);
        while (await worker.RunOnceAsync(default))
        {
        }
    }

    [Fact]
    public async Task An_edit_raised_above_a_recipients_clearance_retracts_the_copy_there_and_reaches_only_cleared_recipients()
    {
        var (topology, policy) = Setup();
        await using var h = new CoreHarness(topology, policy);
        await h.Store.MigrateAsync(default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "grid 123"), default);
        await DrainAsync(h, "b");
        await DrainAsync(h, "c");

        await h.Router.IngestAsync(Edit("m2", "m1", "[HIGH] grid 123"), default);
        await DrainAsync(h, "b");
        await DrainAsync(h, "c");

        var atB = h.Connectors["b"].Delivered.ToList();
        Assert.Equal([BridgeEventKind.Message, BridgeEventKind.Delete], atB.Select(r => r.Event.Kind));
        var retraction = atB[1];
        Assert.Equal("b-native-1", retraction.TargetNativeId); // the copy of m1 at b
        Assert.Equal("", retraction.Event.Text);
        Assert.Null(retraction.Event.Html);
        Assert.Null(retraction.Label); // the raised label is what b may not learn
        Assert.DoesNotContain(atB, r => r.Event.Text.Contains("HIGH", StringComparison.Ordinal));

        var atC = h.Connectors["c"].Delivered.ToList();
        Assert.Equal([BridgeEventKind.Message, BridgeEventKind.Edit], atC.Select(r => r.Event.Kind));
        Assert.Equal("c-native-1", atC[1].TargetNativeId);
        Assert.Equal("HIGH", atC[1].Label);

        var audit = (await h.Store.ReadAuditAsync(0, null, 100, default)).Select(r => r.Entry).Where(e => e.EventKey == "a/m2").ToList();
        var toB = Assert.Single(audit, e => e.Destination == "b:room");
        Assert.Equal("retracted", toB.Decision);
        Assert.Equal("clearance", toB.RuleId);
        Assert.Equal("HIGH", toB.Label);
        Assert.Equal("delivered", Assert.Single(audit, e => e.Destination == "c:room").Decision);
        Assert.True(AuditChain.Verify(await h.Store.ReadAuditAsync(0, null, 100, default)).Ok);
    }

    [Fact]
    public async Task The_retraction_follows_the_original_when_both_are_still_queued()
    {
        var (topology, policy) = Setup();
        await using var h = new CoreHarness(topology, policy);
        await h.Store.MigrateAsync(default);

        // b is down while the message and its raising edit arrive: both wait in b's outbox, in order.
        h.Connectors["b"].IsReady = false;
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "grid 123"), default);
        await h.Router.IngestAsync(Edit("m2", "m1", "[HIGH] grid 123"), default);
        await DrainAsync(h, "b");
        Assert.Empty(h.Connectors["b"].Delivered);

        h.Connectors["b"].IsReady = true;
        await DrainAsync(h, "b");

        var atB = h.Connectors["b"].Delivered.ToList();
        Assert.Equal([BridgeEventKind.Message, BridgeEventKind.Delete], atB.Select(r => r.Event.Kind));
        Assert.Equal("b-native-1", atB[1].TargetNativeId);
    }

    [Fact]
    public async Task No_retraction_reaches_a_recipient_that_never_received_the_original()
    {
        var (topology, policy) = Setup();
        await using var h = new CoreHarness(topology, policy);
        await h.Store.MigrateAsync(default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "[HIGH] grid 123"), default);
        await h.Router.IngestAsync(Edit("m2", "m1", "[HIGH] grid 124"), default);
        await DrainAsync(h, "b");
        await DrainAsync(h, "c");

        Assert.Empty(h.Connectors["b"].Attempts);
        Assert.Equal([BridgeEventKind.Message, BridgeEventKind.Edit], h.Connectors["c"].Delivered.Select(r => r.Event.Kind));
    }

    [Fact]
    public async Task An_edit_that_stays_within_clearance_is_an_edit_and_a_lowering_edit_creates_nothing_new()
    {
        var (topology, policy) = Setup();
        await using var h = new CoreHarness(topology, policy);
        await h.Store.MigrateAsync(default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "grid 123"), default);
        await h.Router.IngestAsync(Edit("m2", "m1", "grid 124"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m3", "[HIGH] codes"), default);
        await h.Router.IngestAsync(Edit("m4", "m3", "codes"), default); // the downgrade goes nowhere new
        await DrainAsync(h, "b");

        var atB = h.Connectors["b"].Delivered.ToList();
        Assert.Equal([BridgeEventKind.Message, BridgeEventKind.Edit], atB.Select(r => r.Event.Kind));
        Assert.Equal("b-native-1", atB[1].TargetNativeId);
        Assert.DoesNotContain(atB, r => r.Event.Text.Contains("codes", StringComparison.Ordinal));
    }
}
