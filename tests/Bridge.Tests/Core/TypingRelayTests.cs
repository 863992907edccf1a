using System.Collections.Concurrent;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Connectors.Capabilities;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Typing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>
/// Typing is relayed to linked channels whose network shows it, only where the policy would let an empty message from
/// the same person through, and never anywhere else (no store is involved at all: it is ephemeral).
/// </summary>
public sealed class TypingRelayTests
{
    [Fact]
    public async Task Typing_reaches_networks_that_show_it_where_the_policy_allows_and_nowhere_else()
    {
        var topology = new BridgeTopology(
            [Network("a"), Network("b"), Network("barred"), Network("plain")],
            [new LinkDefinition { Id = "ops", Endpoints = [new("a", "room"), new("b", "room"), new("barred", "room"), new("plain", "room")] }]);
        var registry = new ConnectorRegistry();
        var a = new TypingConnector("a", typing: true);
        var b = new TypingConnector("b", typing: true);
        var barred = new TypingConnector("barred", typing: true);
        var plain = new TypingConnector("plain", typing: false);
        foreach (var c in new[] { a, b, barred, plain })
        {
            registry.Add(c);
        }
        var relay = new TypingRelay(topology, new BarrierPolicy("barred"), registry, NullLogger.Instance);
        var alice = new PersonRef { NetworkId = "a", UserId = "alice", DisplayName = "Alice" };

        relay.Typing(new ChannelRef("a", "room"), alice, typing: true);
        relay.Typing(new ChannelRef("a", "room"), alice, typing: false);
        relay.Typing(new ChannelRef("a", "unlinked"), alice, typing: true);
        await Task.Delay(200);

        Assert.Equal([(new ChannelRef("b", "room"), "a/alice", true), (new ChannelRef("b", "room"), "a/alice", false)], b.Shown.ToArray());
        Assert.Empty(barred.Shown);
        Assert.Empty(plain.Shown);
        Assert.Empty(a.Shown);
        Assert.Equal("org-a", b.People.First().Organisation); // the policy saw the source organisation
    }

    [Fact]
    public async Task Typing_in_a_direct_portal_is_shown_only_where_a_link_connects_the_two_networks()
    {
        var topology = new BridgeTopology([Network("a"), Network("b"), Network("c")], [new LinkDefinition { Id = "ops", Endpoints = [new("a", "room"), new("b", "room")] }]);
        topology.ReplaceDirectLinks(
        [
            new LinkDefinition { Id = "dm-ab", Endpoints = [new("a", "dm-ab"), new("b", "dm-ab")], Source = LinkSource.Direct },
            new LinkDefinition { Id = "dm-ac", Endpoints = [new("a", "dm-ac"), new("c", "dm-ac")], Source = LinkSource.Direct },
        ]);
        var registry = new ConnectorRegistry();
        var b = new TypingConnector("b", typing: true);
        var c = new TypingConnector("c", typing: true);
        registry.Add(b);
        registry.Add(c);
        var relay = new TypingRelay(topology, new AllowAllPolicy(), registry, NullLogger.Instance);
        var alice = new PersonRef { NetworkId = "a", UserId = "alice", DisplayName = "Alice" };

        relay.Typing(new ChannelRef("a", "dm-ac"), alice, typing: true); // no link joins a and c: fail closed
        relay.Typing(new ChannelRef("a", "dm-ab"), alice, typing: true);
        await Task.Delay(200);

        Assert.Equal([(new ChannelRef("b", "dm-ab"), "a/alice", true)], b.Shown.ToArray());
        Assert.Empty(c.Shown);
    }

    [Fact]
    public async Task A_policy_that_fails_shows_nothing()
    {
        var topology = new BridgeTopology([Network("a"), Network("b")], [new LinkDefinition { Id = "ops", Endpoints = [new("a", "room"), new("b", "room")] }]);
        var registry = new ConnectorRegistry();
        var b = new TypingConnector("b", typing: true);
        registry.Add(new TypingConnector("a", typing: true));
        registry.Add(b);
        var relay = new TypingRelay(topology, new ThrowingPolicy(), registry, NullLogger.Instance);
        relay.Typing(new ChannelRef("a", "room"), new PersonRef { NetworkId = "a", UserId = "alice", DisplayName = "Alice" }, typing: true);
        await Task.Delay(100);
        Assert.Empty(b.Shown);
    }

    [Fact]
    public async Task A_paused_link_carries_no_typing()
    {
        var topology = new BridgeTopology([Network("a"), Network("b")],
            [new LinkDefinition { Id = "ops", Endpoints = [new("a", "room"), new("b", "room")], Paused = true }]);
        var registry = new ConnectorRegistry();
        var b = new TypingConnector("b", typing: true);
        registry.Add(new TypingConnector("a", typing: true));
        registry.Add(b);
        var relay = new TypingRelay(topology, new BarrierPolicy("none"), registry, NullLogger.Instance);
        relay.Typing(new ChannelRef("a", "room"), new PersonRef { NetworkId = "a", UserId = "alice", DisplayName = "Alice" }, typing: true);
        await Task.Delay(100);
        Assert.Empty(b.Shown);
    }

    [Fact]
    public async Task Only_a_change_goes_on_and_still_typing_at_most_once_per_repeat_interval()
    {
        var topology = new BridgeTopology([Network("a"), Network("b")], [new LinkDefinition { Id = "ops", Endpoints = [new("a", "room"), new("b", "room")] }]);
        var registry = new ConnectorRegistry();
        var b = new TypingConnector("b", typing: true);
        registry.Add(new TypingConnector("a", typing: true));
        registry.Add(b);
        var clock = new StepClock();
        var relay = new TypingRelay(topology, new BarrierPolicy("none"), registry, NullLogger.Instance, clock);
        var alice = new PersonRef { NetworkId = "a", UserId = "alice", DisplayName = "Alice" };
        var room = new ChannelRef("a", "room");

        // A client (or someone on purpose) says "composing" 200 times in a row: the other server hears it once.
        for (var i = 0; i < 200; i++)
        {
            relay.Typing(room, alice, typing: true);
        }

        relay.Typing(room, alice, typing: false);
        relay.Typing(room, alice, typing: false);
        clock.Now += TypingRelay.Repeat;
        relay.Typing(room, alice, typing: true);
        clock.Now += TypingRelay.Repeat;
        relay.Typing(room, alice, typing: true); // still typing, a repeat interval later: told again
        await Task.Delay(200);

        Assert.Equal([true, false, true, true], b.Shown.Select(s => s.Typing).ToArray());
    }

    private sealed class StepClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static NetworkDefinition Network(string id) => new() { Id = id, Kind = NetworkKind.Xmpp, Organisation = "org-" + id };

    private sealed class BarrierPolicy(string barred) : ISharingPolicy
    {
        public PolicyDecision Decide(PolicyContext context) => context.DestinationNetwork.Id == barred
            ? new PolicyDecision { Verdict = PolicyVerdict.Block, Event = context.Event, RuleId = "barrier", Reason = "barred" }
            : PolicyDecision.Allow(context.Event);
    }

    private sealed class ThrowingPolicy : ISharingPolicy
    {
        public PolicyDecision Decide(PolicyContext context) => throw new InvalidOperationException("broken");
    }

    private sealed class TypingConnector(string networkId, bool typing) : INetworkConnector, ITypingTarget
    {
        public ConcurrentQueue<(ChannelRef Destination, string Person, bool Typing)> Shown { get; } = new();
        public ConcurrentQueue<PersonRef> People { get; } = new();
        public string NetworkId { get; } = networkId;
        public NetworkKind Kind => NetworkKind.Xmpp;
        public bool IsReady => true;
        public NetworkCapabilities Capabilities { get; } = new() { Typing = typing };

        public Task ShowTypingAsync(ChannelRef destination, PersonRef person, bool isTyping, CancellationToken cancellationToken)
        {
            People.Enqueue(person);
            Shown.Enqueue((destination, person.Key, isTyping));
            return Task.CompletedTask;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken) => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
