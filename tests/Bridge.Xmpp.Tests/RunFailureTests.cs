using Bridge.Core.Connectors;
using Bridge.Xmpp.Tests.Fixtures;
using Microsoft.Extensions.Logging;
using Answer = Bridge.Xmpp.Tests.Fixtures.FakeMucRoom.Answer;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// Runs (<see cref="IRunDelivery"/>) through what a stock server does not do on demand, played by a scripted room
/// (<see cref="FakeMucRoom"/>): reflections that stop mid-run, a connection cut after a run was written, a refusal for
/// rate. In each, every message ends up in the room exactly once and in order, and each row is answered with the
/// room's stanza-id, as the core would hand the rows over again.
/// </summary>
public sealed class RunFailureTests
{
    private const string Room = "ops@conference.localhost";
    private const string Secret = "s3cret";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Reflections_that_stop_mid_run_answer_the_confirmed_rows_and_the_rest_are_looked_up_in_the_archive_before_any_resend()
    {
        // The room takes "run 2" and "run 3" but their reflections never come back; "run 4" and "run 5" never reach it.
        var muc = new FakeMucRoom(Room)
        {
            Decide = body => body switch
            {
                "run 2" or "run 3" => Answer.TakeSilently,
                "run 4" or "run 5" => Answer.Lose,
                _ => Answer.Reflect,
            },
        };
        var clock = new OffsetClock();
        await using var server = new FakeComponentServer((session, _) => muc.ServeAsync(session, Secret));
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room],
            extra: new Dictionary<string, string?> { ["sendTimeout"] = "00:00:01" }, time: clock);
        await bridge.WaitReadyAsync(Wait);
        var runs = (IRunDelivery)bridge.Connector;
        Assert.Equal(16, runs.MaxRunInto(Room));
        var run = Enumerable.Range(0, 6).Select(i => ConnectorHarness.Message(10 + i, Room, "Alice", $"run {i}")).ToList();

        var results = await runs.DeliverRunAsync(run, CancellationToken.None);

        // What the room confirmed is delivered; the rest is unconfirmed (not lost, not known sent) and the room goes one at a time.
        Assert.Equal(6, results.Count);
        Assert.Equal(["s-1", "s-2"], results.Take(2).Select(r => Assert.IsType<DeliveryResult.Delivered>(r).NativeId));
        Assert.All(results.Skip(2), r => Assert.Contains("did not reflect", Assert.IsType<DeliveryResult.RetryLater>(r).Reason, StringComparison.Ordinal));
        Assert.Equal(1, runs.MaxRunInto(Room));

        // The room reflects again; the core hands the unconfirmed rows over again, one at a time.
        muc.Decide = _ => Answer.Reflect;
        var queriesBefore = muc.ArchiveQueries;
        var answers = await bridge.HandOverAsync(run[2..], Wait);

        // The two the room had were found in its archive and answered with their stanza-ids, not sent again; the two
        // it never had were sent again. Everyone in the room saw each message once, in order.
        Assert.Equal(["s-3", "s-4", "s-5", "s-6"], answers);
        Assert.True(muc.ArchiveQueries > queriesBefore, "the archive was not asked before the rows were handed over again");
        Assert.Equal(run.Select(r => r.Event.Text), muc.Messages.Select(m => m.Body));
        Assert.Equal(["run 0", "run 1", "run 2", "run 3", "run 4", "run 5", "run 4", "run 5"], muc.Received);

        // One at a time after a lost reflection lasts five minutes, then runs resume.
        clock.Offset = TimeSpan.FromMinutes(6);
        Assert.Equal(16, runs.MaxRunInto(Room));
    }

    [Fact]
    public async Task A_connection_cut_after_a_run_was_written_delivers_each_message_once_in_order_after_the_reconnect()
    {
        // On the first connection the room takes the run's first four messages, reflects only the first, loses the last
        // two with the connection, and the connection is cut once the whole run was written.
        var muc = new FakeMucRoom(Room)
        {
            Decide = body => body switch
            {
                "run 0" => Answer.Reflect,
                "run 4" or "run 5" => Answer.Lose,
                _ => Answer.TakeSilently,
            },
        };
        var first = new TaskCompletionSource<FakeSession>(TaskCreationOptions.RunContinuationsAsynchronously);
        muc.AfterMessage = async (body, session) =>
        {
            if (body == "run 5" && first.Task.IsCompleted && ReferenceEquals(await first.Task, session))
            {
                muc.Decide = _ => Answer.Reflect; // the room as it is after the reconnect
                session.Dispose();
            }
        };
        await using var server = new FakeComponentServer((session, index) =>
        {
            if (index == 0)
            {
                first.TrySetResult(session);
            }

            return muc.ServeAsync(session, Secret);
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        await bridge.WaitReadyAsync(Wait);
        var run = Enumerable.Range(0, 6).Select(i => ConnectorHarness.Message(20 + i, Room, "Alice", $"run {i}")).ToList();

        var results = await ((IRunDelivery)bridge.Connector).DeliverRunAsync(run, CancellationToken.None);

        // Whatever was not confirmed before the cut is answered "connection lost", never delivered and never refused.
        Assert.Equal(6, results.Count);
        Assert.Contains(results, r => r is DeliveryResult.RetryLater { CountsAsAttempt: false } w && w.Reason.StartsWith("connection lost", StringComparison.Ordinal));
        var delivered = results.TakeWhile(r => r is DeliveryResult.Delivered).Select(r => ((DeliveryResult.Delivered)r).NativeId).ToList();
        Assert.All(results.Skip(delivered.Count), r => Assert.IsType<DeliveryResult.RetryLater>(r));

        // As the core does after the reconnect: the rows not answered are handed over again, in order.
        var answers = await bridge.HandOverAsync(run[delivered.Count..], Wait);

        Assert.True(server.Sessions.Count >= 2, "the connector did not reconnect");
        Assert.Equal(run.Select(r => r.Event.Text), muc.Messages.Select(m => m.Body));
        Assert.Equal(muc.Messages.Select(m => m.StanzaId), delivered.Concat(answers));
        Assert.Equal(["run 0", "run 1", "run 2", "run 3", "run 4", "run 5", "run 4", "run 5"], muc.Received);
    }

    [Fact]
    public async Task A_refusal_for_rate_makes_the_room_one_at_a_time_for_the_process_and_logs_the_sendWindow_hint_once()
    {
        var refuse = "run 1";
        var muc = new FakeMucRoom(Room) { Decide = body => body == refuse ? Answer.RefuseForRate : Answer.Reflect };
        var clock = new OffsetClock();
        await using var server = new FakeComponentServer((session, _) => muc.ServeAsync(session, Secret));
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room], time: clock);
        await bridge.WaitReadyAsync(Wait);
        var runs = (IRunDelivery)bridge.Connector;
        var run = Enumerable.Range(0, 4).Select(i => ConnectorHarness.Message(30 + i, Room, "Alice", $"run {i}")).ToList();

        var results = await runs.DeliverRunAsync(run, CancellationToken.None);

        // The throttle took the message after the refused one: that one is in the room (the core logs the inversion).
        Assert.Equal(4, results.Count);
        Assert.IsType<DeliveryResult.Delivered>(results[0]);
        Assert.Contains("resource-constraint", Assert.IsType<DeliveryResult.RetryLater>(results[1]).Reason, StringComparison.Ordinal);
        Assert.IsType<DeliveryResult.Delivered>(results[2]);
        Assert.IsType<DeliveryResult.Delivered>(results[3]);
        Assert.Equal(1, runs.MaxRunInto(Room));
        Assert.Single(Hints(bridge));

        // Not five minutes like other trouble: for as long as the process runs. A run handed over anyway is cut to one,
        // and a second refusal does not repeat the hint.
        clock.Offset = TimeSpan.FromHours(2);
        Assert.Equal(1, runs.MaxRunInto(Room));
        refuse = "again 0";
        var again = await runs.DeliverRunAsync([ConnectorHarness.Message(40, Room, "Alice", "again 0"), ConnectorHarness.Message(41, Room, "Alice", "again 1")], CancellationToken.None);
        Assert.IsType<DeliveryResult.RetryLater>(Assert.Single(again));
        Assert.Equal(1, runs.MaxRunInto(Room));
        Assert.Single(Hints(bridge));
        Assert.Equal(["run 0", "run 2", "run 3"], muc.Messages.Select(m => m.Body));
    }

    private static List<LogEntry> Hints(ConnectorHarness bridge) =>
        [.. bridge.Logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("set sendWindow: 1", StringComparison.Ordinal))];

    /// <summary>The system clock, its wall time moved on by hand (timers and timestamps stay real).</summary>
    private sealed class OffsetClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }
}
