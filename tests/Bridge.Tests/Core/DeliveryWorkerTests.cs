using Bridge.Core.Audit;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using Bridge.Tests.Support;
using Bridge.Testing;

namespace Bridge.Tests.Core;

public sealed class DeliveryWorkerTests
{
    [Fact]
    public async Task Delivers_in_order_per_channel_and_maps_native_ids()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        for (var i = 0; i < 20; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        while (await h.Worker("b").RunOnceAsync(default))
        {
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"text {i}"), h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
        var origin = await h.Store.FindOriginAsync("b", "b-native-1", default);
        Assert.Equal(new MessageOrigin("a", "m0"), origin);
        Assert.Equal("b-native-1", await h.Store.FindNativeIdAsync(new MessageOrigin("a", "m0"), new ChannelRef("b", "room"), default));
    }

    [Fact]
    public async Task An_in_process_retry_is_not_sent_once_the_lease_is_lost()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        var fence = new LeaderFence(TimeProvider.System, leased: true);
        fence.Held(1, TimeProvider.System.GetTimestamp(), TimeSpan.FromMinutes(1));
        // The first attempt fails with a blip that is retried in process; meanwhile another process takes the lease over.
        h.Connectors["b"].Behaviour = _ =>
        {
            fence.Lose();
            return new DeliveryResult.RetryLater("connection reset");
        };
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "once"), default);
        var worker = new NetworkDeliveryWorker(h.Connectors["b"], h.Store, h.Signals,
            new DeliveryOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) },
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System, senders: h.Registry, fence: fence);

        await worker.RunOnceAsync(default);

        Assert.Single(h.Connectors["b"].Attempts);
        Assert.Empty(h.Connectors["b"].Delivered);
        Assert.Equal("once", Assert.Single(await h.Store.GetPendingAsync("b", [], 10, default)).Event.Text);
    }

    [Fact]
    public async Task A_failing_channel_waits_in_order_while_another_channel_keeps_flowing()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("slow", "fast"));
        await h.Store.MigrateAsync(default);
        var slowFails = true;
        h.Connectors["b"].Behaviour = r => slowFails && r.Destination.ChannelId == "slow" ? new DeliveryResult.RetryLater("down", TimeSpan.FromSeconds(30)) : null;
        await h.Router.IngestAsync(CoreHarness.Message("a", "slow", "s1", "slow 1"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "fast", "f1", "fast 1"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "slow", "s2", "slow 2"), default);
        var worker = h.Worker("b");

        await worker.RunOnceAsync(default);

        Assert.Equal(["fast 1"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        // slow 2 was not tried ahead of slow 1: order per channel holds.
        Assert.DoesNotContain(h.Connectors["b"].Attempts, a => a.Event.Text == "slow 2");
        var pending = await h.Store.GetPendingAsync("b", [], 10, default);
        Assert.Equal(["slow 1", "slow 2"], pending.Select(p => p.Event.Text));
        Assert.Equal(1, pending[0].Attempts);
    }

    [Fact]
    public async Task Rows_past_max_attempts_are_dead_lettered_with_the_reason_and_the_channel_moves_on()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].Behaviour = r => r.Event.Text == "poison" ? new DeliveryResult.RetryLater("server says no", TimeSpan.Zero) : null;
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "poison"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m2", "fine"), default);
        var worker = h.Worker("b", new DeliveryOptions { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(1) });

        for (var i = 0; i < 50 && h.Connectors["b"].Delivered.IsEmpty; i++)
        {
            await worker.RunOnceAsync(default);
            await Task.Delay(5);
        }

        Assert.Equal(["fine"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        var dead = Assert.Single(await h.Store.GetDeadLettersAsync(10, default));
        Assert.Equal("m1", dead.OriginNativeId);
        Assert.Contains("server says no", dead.Reason, StringComparison.Ordinal);
        Assert.Equal(3, dead.Attempts);
    }

    [Fact]
    public async Task Rejected_deliveries_are_dead_lettered_at_once()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].Behaviour = _ => new DeliveryResult.Rejected("too large");
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "x"), default);

        await h.Worker("b").RunOnceAsync(default);

        Assert.Equal("too large", Assert.Single(await h.Store.GetDeadLettersAsync(10, default)).Reason);
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
    }

    [Fact]
    public async Task A_rejection_with_a_sender_notice_is_dead_lettered_and_told_to_the_sender_on_their_own_network()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].Behaviour = _ => new DeliveryResult.Rejected("too large for Matrix: 200000 bytes", "Your message was too large for network 'b' and was not delivered there.");
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "x"), default);

        await h.Worker("b").RunOnceAsync(default);

        Assert.Equal("too large for Matrix: 200000 bytes", Assert.Single(await h.Store.GetDeadLettersAsync(10, default)).Reason);
        for (var i = 0; i < 200 && h.Connectors["a"].Notices.IsEmpty; i++)
        {
            await Task.Delay(10);
        }

        var (channel, person, notice) = Assert.Single(h.Connectors["a"].Notices);
        Assert.Equal(new ChannelRef("a", "room"), channel);
        Assert.Equal("Your message was too large for network 'b' and was not delivered there.", notice);
        Assert.Empty(h.Connectors["b"].Notices);
        Assert.False(string.IsNullOrEmpty(person.UserId));
    }

    [Fact]
    public async Task A_delivery_that_fell_short_is_done_and_told_to_the_sender()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].Behaviour = _ => new DeliveryResult.Delivered("b-1", "Your edit was too long for network 'b': only its first 10 characters were delivered there.");
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "x"), default);

        await h.Worker("b").RunOnceAsync(default);

        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
        Assert.Empty(await h.Store.GetDeadLettersAsync(10, default));
        for (var i = 0; i < 200 && h.Connectors["a"].Notices.IsEmpty; i++)
        {
            await Task.Delay(10);
        }

        Assert.Contains("only its first 10 characters", Assert.Single(h.Connectors["a"].Notices).Notice, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_network_that_is_not_ready_gets_no_attempts_and_loses_nothing()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].IsReady = false;
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "x"), default);
        var worker = h.Worker("b");

        Assert.False(await worker.RunOnceAsync(default));
        Assert.Empty(h.Connectors["b"].Attempts);

        h.Connectors["b"].IsReady = true;
        Assert.True(await worker.RunOnceAsync(default));
        Assert.Single(h.Connectors["b"].Delivered);
    }

    [Fact]
    public async Task Queued_rows_survive_a_restart_and_are_delivered_once()
    {
        using var dir = new TempDirectory();
        var db = dir.File("bridge.db");
        await using (var first = new CoreHarness(CoreHarness.TwoNetworks(), dbPath: db))
        {
            await first.Store.MigrateAsync(default);
            for (var i = 0; i < 5; i++)
            {
                await first.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"t{i}"), default);
            }
        }

        await using var second = new CoreHarness(CoreHarness.TwoNetworks(), dbPath: db);
        await second.Store.MigrateAsync(default);
        while (await second.Worker("b").RunOnceAsync(default))
        {
        }

        Assert.Equal(["t0", "t1", "t2", "t3", "t4"], second.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.False(await second.Worker("b").RunOnceAsync(default));
        Assert.Equal(5, second.Connectors["b"].Delivered.Count);
    }

    [Fact]
    public async Task Edits_and_replies_are_translated_to_the_destination_ids()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "original"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m2", "fixed") with { Kind = BridgeEventKind.Edit, TargetNativeId = "m1" }, default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m3", "reply") with { ReplyToNativeId = "m1" }, default);

        while (await h.Worker("b").RunOnceAsync(default))
        {
        }

        var delivered = h.Connectors["b"].Delivered.ToList();
        Assert.Equal("b-native-1", delivered[1].TargetNativeId);
        Assert.Equal("b-native-1", delivered[2].ReplyToNativeId);
    }

    [Fact]
    public async Task An_edit_of_a_message_that_never_reached_a_destination_is_not_delivered_there()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].Behaviour = r => r.Event.Text == "refused" ? new DeliveryResult.Rejected("no") : null;
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "refused"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m2", "changed") with { Kind = BridgeEventKind.Edit, TargetNativeId = "m1" }, default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m3", "+1") with { Kind = BridgeEventKind.Reaction, TargetNativeId = "m1", ReactionKey = "👍" }, default);

        while (await h.Worker("b").RunOnceAsync(default))
        {
        }

        Assert.DoesNotContain(h.Connectors["b"].Attempts, a => a.Event.Kind != BridgeEventKind.Message);
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
    }

    [Fact]
    public async Task Exceptions_from_a_connector_are_retried_not_fatal()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        var calls = 0;
        h.Connectors["b"].Behaviour = _ => ++calls <= 1 ? throw new IOException("socket reset") : null;
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "x"), default);

        await h.Worker("b").RunOnceAsync(default);

        // The in-process retry absorbed the blip.
        Assert.Single(h.Connectors["b"].Delivered);
        Assert.Equal(2, h.Connectors["b"].Attempts.Count);
    }

    [Fact]
    public async Task Skipped_and_dead_lettered_deliveries_get_an_outcome_record_after_their_decision_and_export_shows_the_final_outcome()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].Behaviour = r => r.Event.Text switch
        {
            "refused" => new DeliveryResult.Rejected("413 too large"),
            "odd reaction" => new DeliveryResult.Skipped("no emoji mapping for :blob:"),
            _ => null,
        };
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "refused"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m2", "+1") with { Kind = BridgeEventKind.Reaction, TargetNativeId = "m1", ReactionKey = "👍" }, default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m3", "fine"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m4", "odd reaction"), default);
        while (await h.Worker("b").RunOnceAsync(default))
        {
        }

        // Decided but not yet delivered.
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m5", "waiting"), default);

        var audit = await h.Store.ReadAuditAsync(0, null, 100, default);
        var outcomes = audit.Where(r => r.Entry.Kind == DeliveryOutcomeAudit.Kind).Select(r => (r.Entry.EventKey, r.Entry.Decision, r.Entry.RuleId, r.Entry.Destination)).ToList();
        Assert.Contains(("a/m1", DeliveryOutcomeAudit.DeadLettered, "413 too large", "b:room"), outcomes);
        Assert.Contains(outcomes, o => o.EventKey == "a/m2" && o.Decision == DeliveryOutcomeAudit.Skipped && o.RuleId.StartsWith("target-not-delivered", StringComparison.Ordinal));
        Assert.Contains(("a/m4", DeliveryOutcomeAudit.Skipped, "no emoji mapping for :blob:", "b:room"), outcomes);
        Assert.DoesNotContain(outcomes, o => o.EventKey is "a/m3" or "a/m5");
        // Every follow-up comes after its decision, with the same link.
        foreach (var o in audit.Where(r => r.Entry.Kind == DeliveryOutcomeAudit.Kind))
        {
            var decision = Assert.Single(audit, r => r.Entry.Kind == "decision" && r.Entry.EventKey == o.Entry.EventKey);
            Assert.True(decision.Sequence < o.Sequence);
            Assert.Equal(decision.Entry.LinkId, o.Entry.LinkId);
        }

        var exported = new StringWriter();
        await new AuditExporter(h.Store).ExportAsync(exported, AuditExportFormat.Jsonl, null, default);
        var finalOutcome = exported.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Where(j => j.GetProperty("kind").GetString() == "decision")
            .ToDictionary(j => j.GetProperty("eventKey").GetString()!, j => j.GetProperty("outcome").GetString());
        Assert.Equal("dead-lettered", finalOutcome["a/m1"]);
        Assert.Equal("skipped", finalOutcome["a/m2"]);
        Assert.Equal("delivered", finalOutcome["a/m3"]);
        Assert.Equal("skipped", finalOutcome["a/m4"]);
        Assert.Equal("pending", finalOutcome["a/m5"]);

        var csv = new StringWriter();
        await new AuditExporter(h.Store).ExportAsync(csv, AuditExportFormat.Csv, null, default);
        var lines = csv.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith(",keyId,outcome", lines[0], StringComparison.Ordinal);
        Assert.Single(lines, l => l.Contains(",decision,", StringComparison.Ordinal) && l.Contains(",a/m1,", StringComparison.Ordinal) && l.EndsWith(",dead-lettered", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains(",decision,", StringComparison.Ordinal) && l.Contains(",a/m5,", StringComparison.Ordinal) && l.EndsWith(",pending", StringComparison.Ordinal));
        Assert.All(lines.Where(l => l.Contains(",outcome,", StringComparison.Ordinal)), l => Assert.EndsWith(",", l, StringComparison.Ordinal));
        Assert.True((await new AuditVerifier(h.Store).VerifyAsync(default)).Ok);
    }

    [Fact]
    public async Task A_room_waiting_on_its_connector_is_asked_again_at_the_connectors_wake_up_not_after_its_whole_wait()
    {
        // Issue 12 (start): an XMPP room still catching up answers "later, not an attempt" for 100 ms, and its catch-up
        // may end a few ms later; the connector then wakes the worker. Here the wait is a minute: only the wake-up can
        // bring the delivery in within the test's time.
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        var notReady = 1;
        h.Connectors["b"].Behaviour = _ => Interlocked.Exchange(ref notReady, 0) == 1
            ? new DeliveryResult.RetryLater("room is still catching up", TimeSpan.FromMinutes(1), CountsAsAttempt: false)
            : null;
        using var stop = new CancellationTokenSource();
        var running = h.Worker("b").RunAsync(stop.Token, CancellationToken.None);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "hello"), default);
        await WaitForAsync(() => !h.Connectors["b"].Attempts.IsEmpty);

        h.Signals.Signal("b"); // the connector's wake-up (its room caught up)
        await WaitForAsync(() => !h.Connectors["b"].Delivered.IsEmpty);

        await stop.CancelAsync();
        await running;
        Assert.Equal(["hello"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.Equal(2, h.Connectors["b"].Attempts.Count);
    }

    [Fact]
    public async Task A_rate_limit_is_not_cut_short_by_a_wake_up()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        var limited = 1;
        h.Connectors["b"].Behaviour = _ => Interlocked.Exchange(ref limited, 0) == 1
            ? new DeliveryResult.RetryLater("rate limited", TimeSpan.FromMinutes(1), CountsAsAttempt: false, Fault: NetworkFault.RateLimited)
            : null;
        using var stop = new CancellationTokenSource();
        var running = h.Worker("b").RunAsync(stop.Token, CancellationToken.None);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "hello"), default);
        await WaitForAsync(() => !h.Connectors["b"].Attempts.IsEmpty);

        h.Signals.Signal("b");
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m2", "again"), default); // a commit signals too
        await Task.Delay(1000);

        await stop.CancelAsync();
        await running;
        Assert.Single(h.Connectors["b"].Attempts);
        Assert.Empty(h.Connectors["b"].Delivered);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "not within 20 s");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task After_delivering_every_pending_row_the_worker_waits_for_a_signal_instead_of_reading_again()
    {
        // Issue 12 (CPU per message): at a steady rate every message cost two reads of the outbox, the one that found it
        // and an empty one straight after its delivery. Rows committed later are announced by the router's signal.
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        var store = CountingStore.Over(h.Store);
        var worker = new NetworkDeliveryWorker(h.Connectors["b"], store, h.Signals, new DeliveryOptions(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System, senders: h.Registry);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token, CancellationToken.None);

        for (var i = 1; i <= 3; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (h.Connectors["b"].Delivered.Count < i && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
        }

        await stop.CancelAsync();
        await running;

        Assert.Equal(["text 1", "text 2", "text 3"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        // The read at start (empty, or holding the first row when the router was quicker), then one read per message;
        // three when a row was committed while the one before it was being recorded (that signal finds it). Before, an
        // empty read followed every delivery: seven.
        Assert.InRange(((CountingStore)(object)store).PendingReads, 3, 4);
    }

    [Fact]
    public async Task A_pass_settles_when_every_row_it_left_is_in_a_room_that_waits_but_not_after_a_full_batch()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks("slow", "fast"));
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].Behaviour = r => r.Destination.ChannelId == "slow" ? new DeliveryResult.RetryLater("down", TimeSpan.FromSeconds(30)) : null;
        await h.Router.IngestAsync(CoreHarness.Message("a", "fast", "f1", "fast 1"), default);
        var worker = h.Worker("b");
        Assert.True(await worker.RunOnceAsync(default));
        Assert.True(worker.LastPassSettled);

        await h.Router.IngestAsync(CoreHarness.Message("a", "slow", "s1", "slow 1"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "slow", "s2", "slow 2"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "fast", "f3", "fast 3"), default);
        await worker.RunOnceAsync(default);
        Assert.True(worker.LastPassSettled); // slow 1 and 2 wait in their room, which waits for its retry; fast 3 went
        Assert.Equal(["fast 1", "fast 3"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));

        await using var other = new CoreHarness(CoreHarness.TwoNetworks("fast"));
        await other.Store.MigrateAsync(default);
        var small = other.Worker("b", new DeliveryOptions { BatchSize = 2 });
        await other.Router.IngestAsync(CoreHarness.Message("a", "fast", "f1", "fast 1"), default);
        await other.Router.IngestAsync(CoreHarness.Message("a", "fast", "f2", "fast 2"), default);
        Assert.True(await small.RunOnceAsync(default));
        Assert.False(small.LastPassSettled); // a full batch: more rows may be waiting behind it
    }
}

/// <summary>The store, counting the outbox reads (<see cref="IBridgeStore.GetPendingAsync"/>); every call goes through.</summary>
public class CountingStore : System.Reflection.DispatchProxy
{
    private IBridgeStore _inner = null!;
    private int _pendingReads;

    public int PendingReads => Volatile.Read(ref _pendingReads);

    public static IBridgeStore Over(IBridgeStore inner)
    {
        var proxy = Create<IBridgeStore, CountingStore>();
        ((CountingStore)(object)proxy)._inner = inner;
        return proxy;
    }

    protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == nameof(IBridgeStore.GetPendingAsync))
        {
            Interlocked.Increment(ref _pendingReads);
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}
