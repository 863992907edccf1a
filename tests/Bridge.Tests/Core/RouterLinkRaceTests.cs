using System.Reflection;
using Bridge.Core.Audit;
using Bridge.Core.Connectors;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
using Bridge.Core.Storage;
using Bridge.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>
/// The links an event is routed with are the ones read before the router's echo check awaits the store: a link removed
/// meanwhile (admin API) must not leave an event stored as seen with no decision in the audit trail.
/// </summary>
public sealed class RouterLinkRaceTests
{
    [Fact]
    public async Task A_link_removed_while_the_echo_check_waits_still_gets_its_decision_recorded()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var checking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = EchoCheckGate.Wrap(h.Store, checking, gate.Task);
        var router = new BridgeRouter(store, h.Topology, new AllowAllPolicy(), h.Signals, h.Registry, new AuditOptions(), NullLogger<BridgeRouter>.Instance);

        var ingest = router.IngestAsync(CoreHarness.Message("a", "room", "m1", "hello"), default);
        await checking.Task.WaitAsync(TimeSpan.FromSeconds(10));
        h.Topology.ReplaceLinks([]); // the link goes while the echo check is in flight
        gate.SetResult();
        var outcome = await ingest;

        var audit = await h.Store.ReadAuditAsync(0, null, 10, default);
        Assert.Equal(IngestOutcome.Accepted, outcome);
        Assert.Contains(audit, r => r.Entry.EventKey == "a/m1" && r.Entry.Kind == "decision");
        Assert.True(AuditChain.Verify(audit).Ok);
    }

    /// <summary>The store, with its echo check held until the test lets it go.</summary>
    public class EchoCheckGate : DispatchProxy
    {
        private IBridgeStore _inner = null!;
        private TaskCompletionSource _checking = null!;
        private Task _release = Task.CompletedTask;

        internal static IBridgeStore Wrap(IBridgeStore inner, TaskCompletionSource checking, Task release)
        {
            var proxy = Create<IBridgeStore, EchoCheckGate>();
            var gate = (EchoCheckGate)(object)proxy;
            (gate._inner, gate._checking, gate._release) = (inner, checking, release);
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var result = targetMethod!.Invoke(_inner, args);
            if (targetMethod.Name == nameof(IBridgeStore.IsDeliveredNativeIdAsync) && result is Task<bool> answer)
            {
                return HoldAsync(answer);
            }

            return result;
        }

        private async Task<bool> HoldAsync(Task<bool> answer)
        {
            _checking.TrySetResult();
            await _release;
            return await answer;
        }
    }
}
