using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using Bridge.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Bridge.Tests.Core;

/// <summary>
/// Runs (<see cref="IRunDelivery"/>): a connector that keeps one sender's order is handed several plain messages of one
/// sender and room at once. What may join a run, and that each answer is recorded as one delivery at a time would.
/// </summary>
public sealed class DeliveryRunTests
{
    private static async Task<CoreHarness> HarnessAsync(int maxRun, params string[] channels)
    {
        var h = new CoreHarness(CoreHarness.TwoNetworks(channels));
        await h.Store.MigrateAsync(default);
        h.Connectors["b"].MaxRun = maxRun;
        return h;
    }

    private static async Task DrainAsync(NetworkDeliveryWorker worker)
    {
        while (await worker.RunOnceAsync(default))
        {
        }
    }

    [Fact]
    public async Task A_burst_of_one_sender_is_handed_over_in_runs_and_every_row_is_recorded_with_its_native_id()
    {
        await using var h = await HarnessAsync(8);
        for (var i = 0; i < 20; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        await DrainAsync(h.Worker("b"));

        Assert.Equal([8, 8, 4], h.Connectors["b"].Runs.Select(r => r.Count));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"text {i}"), h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"b-native-{i + 1}", await h.Store.FindNativeIdAsync(new MessageOrigin("a", $"m{i}"), new ChannelRef("b", "room"), default));
        }
    }

    [Fact]
    public async Task A_run_holds_plain_messages_of_one_sender_only_and_ends_at_the_first_row_of_its_room_that_cannot_join()
    {
        await using var h = await HarnessAsync(8);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "alice 1"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m2", "alice 2"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m3", "bob 1", user: "bob"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m4", "alice 3"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m5", "alice 4"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m6", "alice 3, edited") with { Kind = BridgeEventKind.Edit, TargetNativeId = "m4" }, default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m7", "alice 5") with { ReplyToNativeId = "m1" }, default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m8", "alice 6"), default);

        await DrainAsync(h.Worker("b"));

        // Bob's message ends Alice's first run; the edit and the reply name other messages and go on their own.
        Assert.Equal([["alice 1", "alice 2"], ["alice 3", "alice 4"]], h.Connectors["b"].Runs.Select(r => r.Select(d => d.Event.Text)));
        Assert.Equal(["alice 1", "alice 2", "bob 1", "alice 3", "alice 4", "alice 3, edited", "alice 5", "alice 6"],
            h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        var edit = h.Connectors["b"].Delivered.Single(d => d.Event.Kind == BridgeEventKind.Edit);
        Assert.Equal("b-native-4", edit.TargetNativeId);
        Assert.Equal("b-native-1", h.Connectors["b"].Delivered.Single(d => d.Event.Text == "alice 5").ReplyToNativeId);
    }

    [Fact]
    public async Task Rows_of_another_room_between_a_runs_rows_are_delivered_in_the_same_pass()
    {
        await using var h = await HarnessAsync(8, "one", "two");
        await h.Router.IngestAsync(CoreHarness.Message("a", "one", "a1", "one 1"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "two", "b1", "two 1"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "one", "a2", "one 2"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "two", "b2", "two 2"), default);

        // One row per room per turn: the batch comes interleaved (one 1, two 1, one 2, two 2).
        var worker = new NetworkDeliveryWorker(h.Connectors["b"], h.Store, h.Signals, new DeliveryOptions(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System, senders: h.Registry,
            limits: new Bridge.Core.Delivery.Fairness.LimitsOptions { FairTurn = 1 });

        await worker.RunOnceAsync(default);

        Assert.Equal([["one 1", "one 2"], ["two 1", "two 2"]], h.Connectors["b"].Runs.Select(r => r.Select(d => d.Event.Text)));
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
    }

    [Fact]
    public async Task A_refused_row_keeps_itself_and_the_rest_of_its_room_pending_in_order()
    {
        await using var h = await HarnessAsync(8);
        // A network that refuses for the sender's state refuses the rest of the run too (see IRunDelivery).
        var refusing = false;
        h.Connectors["b"].Behaviour = r =>
        {
            refusing |= r.Event.Text == "text 2";
            return refusing ? new DeliveryResult.RetryLater("not an occupant", TimeSpan.FromMinutes(1)) : null;
        };
        for (var i = 0; i < 6; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        await h.Worker("b").RunOnceAsync(default);

        Assert.Equal(["text 0", "text 1"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        var pending = await h.Store.GetPendingAsync("b", [], 10, default);
        Assert.Equal(["text 2", "text 3", "text 4", "text 5"], pending.Select(p => p.Event.Text));
        // Only the first row that must wait is charged and rescheduled; the rest wait behind it as they were.
        Assert.Equal([1, 0, 0, 0], pending.Select(p => p.Attempts));
        Assert.True(pending[0].NotBefore > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task A_run_that_fails_as_a_whole_sends_its_first_row_on_its_own_without_charging_it()
    {
        await using var h = await HarnessAsync(8);
        h.Connectors["b"].RunFailure = new TimeoutException("the run took too long");
        for (var i = 0; i < 3; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        await DrainAsync(h.Worker("b"));

        Assert.Equal(["text 0", "text 1", "text 2"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
    }

    [Fact]
    public async Task Rows_a_run_took_a_rate_token_for_are_not_charged_again_when_handed_over_again()
    {
        await using var h = await HarnessAsync(8);
        // The connector takes one row per run, as a room sending one at a time does: each row is met again.
        h.Connectors["b"].RunAnswered = _ => 1;
        for (var i = 0; i < 20; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        var worker = new NetworkDeliveryWorker(h.Connectors["b"], h.Store, h.Signals, new DeliveryOptions(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System, senders: h.Registry,
            limits: new Bridge.Core.Delivery.Fairness.LimitsOptions { SenderPerSecond = 0.01, SenderBurst = 20, LinkPerSecond = 0 });

        await worker.RunOnceAsync(default);

        // A burst of 20 tokens covers the 20 rows: each taken once, however often its row was collected into a run.
        Assert.Equal(20, h.Connectors["b"].Delivered.Count);
    }

    [Fact]
    public async Task A_sender_who_changes_name_mid_burst_starts_a_new_run()
    {
        await using var h = await HarnessAsync(8);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m1", "as alice"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m2", "as alice again"), default);
        var renamed = CoreHarness.Message("a", "room", "m3", "as ally");
        await h.Router.IngestAsync(renamed with { Sender = renamed.Sender with { DisplayName = "Ally" } }, default);
        await h.Router.IngestAsync(renamed with { NativeId = "m4", Text = "as ally again", Sender = renamed.Sender with { DisplayName = "Ally" } }, default);

        await DrainAsync(h.Worker("b"));

        Assert.Equal([["as alice", "as alice again"], ["as ally", "as ally again"]], h.Connectors["b"].Runs.Select(r => r.Select(d => d.Event.Text)));
    }

    [Fact]
    public async Task Rows_the_connector_did_not_answer_are_handed_over_again_in_order_in_the_same_pass()
    {
        await using var h = await HarnessAsync(8);
        h.Connectors["b"].RunAnswered = run => Math.Min(2, run.Count);
        for (var i = 0; i < 5; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        await h.Worker("b").RunOnceAsync(default);

        Assert.Equal([5, 3], h.Connectors["b"].Runs.Select(r => r.Count));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"text {i}"), h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
    }

    [Fact]
    public async Task A_later_row_taken_after_an_earlier_one_was_refused_is_recorded_and_logged_as_an_inversion()
    {
        await using var h = await HarnessAsync(8);
        h.Connectors["b"].Behaviour = r => r.Event.Text == "text 1" ? new DeliveryResult.RetryLater("room throttled", TimeSpan.FromMinutes(1)) : null;
        for (var i = 0; i < 3; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        var log = new InversionLog();
        var worker = new NetworkDeliveryWorker(h.Connectors["b"], h.Store, h.Signals, new DeliveryOptions(), log, TimeProvider.System, senders: h.Registry);

        await worker.RunOnceAsync(default);

        Assert.Equal(["text 0", "text 2"], h.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.Equal(["text 1"], (await h.Store.GetPendingAsync("b", [], 10, default)).Select(p => p.Event.Text));
        Assert.Equal(1, log.Inversions);
    }

    [Fact]
    public async Task A_store_that_fails_while_a_runs_results_are_recorded_records_the_rest_first_on_recovery_and_sends_nothing_again()
    {
        await using var h = await HarnessAsync(8);
        for (var i = 0; i < 5; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        // The second record call of the run fails (disk full): the network already has all five.
        var records = 0;
        var recovered = false;
        var store = StoreFailureTests.RefusingStore.Wrap(h.Store, method => !recovered && method == nameof(IBridgeStore.MarkDeliveredAsync) && ++records == 2);
        var worker = new NetworkDeliveryWorker(h.Connectors["b"], store, h.Signals, new DeliveryOptions(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System, senders: h.Registry);

        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => worker.RunOnceAsync(default));
        Assert.Equal(5, h.Connectors["b"].Attempts.Count);
        Assert.Equal(4, await h.Store.CountPendingAsync("b", default));

        // Rows committed meanwhile come after the run's on the network and must not overtake its records.
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m5", "text 5"), default);
        await h.Router.IngestAsync(CoreHarness.Message("a", "room", "m6", "text 6"), default);
        recovered = true;
        var pendingWhenNextSent = -1;
        h.Connectors["b"].Behaviour = r =>
        {
            if (r.Event.Text == "text 5")
            {
                pendingWhenNextSent = h.Store.CountPendingAsync("b", default).GetAwaiter().GetResult();
            }

            return null;
        };
        while (await worker.RunOnceAsync(default))
        {
        }

        // The run's deliveries were all recorded before the next row went out: only text 5 and text 6 were pending.
        Assert.Equal(2, pendingWhenNextSent);

        // Each message went out once, in order, and each row is recorded with the id the network gave it then.
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"text {i}"), h.Connectors["b"].Attempts.Select(a => a.Event.Text));
        Assert.Equal([[.. Enumerable.Range(0, 5).Select(i => $"text {i}")], ["text 5", "text 6"]], h.Connectors["b"].Runs.Select(r => r.Select(d => d.Event.Text)));
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
        for (var i = 0; i < 7; i++)
        {
            Assert.Equal($"b-native-{i + 1}", await h.Store.FindNativeIdAsync(new MessageOrigin("a", $"m{i}"), new ChannelRef("b", "room"), default));
        }
    }

    [Fact]
    public async Task A_connector_whose_longest_run_is_one_gets_every_row_on_its_own()
    {
        await using var h = await HarnessAsync(1);
        for (var i = 0; i < 4; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        await DrainAsync(h.Worker("b"));

        Assert.Empty(h.Connectors["b"].Runs);
        Assert.Equal(4, h.Connectors["b"].Delivered.Count);
    }

    private sealed class InversionLog : ILogger
    {
        public int Inversions { get; private set; }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name == "OrderInverted" && logLevel == LogLevel.Error)
            {
                Inversions++;
            }
        }
    }
}
