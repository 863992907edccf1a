using System.Diagnostics;
using Bridge.Core.Connectors;
using Bridge.Core.Connectors.Capabilities;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using Bridge.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Bridge.Core.Delivery;

/// <summary>
/// Delivers the outbox rows of one destination network, oldest first, in order per channel. A channel whose head row
/// must wait blocks only itself; another network has its own worker, so a dead network never stalls the others.
/// </summary>
internal sealed class NetworkDeliveryWorker
{
    private readonly INetworkConnector _connector;
    private readonly IBridgeStore _store;
    private readonly DeliverySignals _signals;
    private readonly DeliveryOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly BridgeMetrics? _metrics;
    private readonly ResiliencePipeline<DeliveryResult> _pipeline;
    private readonly Dictionary<string, DateTimeOffset> _blockedUntil = new(StringComparer.Ordinal);

    // Rooms parked because the connector was not ready for them yet (a room still catching up, a stream not yet up):
    // no attempt, no fault of the network. The connector wakes the worker when that changes (a signal naming no room),
    // so such a room is asked again then instead of sitting out its whole wait; a rate limit or a backoff is never cut
    // short. A commit's signal for a room that waits is no such wake-up (see WaitForWorkAsync).
    private readonly HashSet<string> _waitingOnConnector = new(StringComparer.Ordinal);
    private readonly ConnectorRegistry? _senders;

    // With several processes on one store, only the lease holder may send, and only while its lease is confirmed.
    private readonly LeaderFence _fence;

    // Deliveries the destination took but the store could not record (disk full): recorded before anything else is
    // fetched, never delivered again. Lost only if the process dies meanwhile, where the connectors' own guards apply.
    private readonly Queue<(OutboxItem Item, string? NativeId)> _unrecorded = new();
    private string? _lastWorkerError;

    // The last pass read every pending row of this network outside the rooms that wait (fewer rows than a batch, no room
    // left out for fairness) and dealt with each: delivered, or its room now waits too. Nothing is left that a new signal
    // or the end of a room's wait would not announce, so the worker waits instead of asking the store again at once, and
    // a signal that names only rooms still waiting does not send it back to the store either (a flooded room over its
    // rate would otherwise cost a read of the whole outbox per commit of its own backlog).
    private bool _settled;

    private readonly Fairness.FairRounds _rounds;
    private readonly Fairness.DeliveryRateLimits _limits;

    // The network's own trouble: a rate limit pauses the whole network (the server limits us, not one room) until the
    // time it named; server errors and no answer back off per room on their own streak, because such answers never
    // count as attempts and so cannot lengthen the attempt-based backoff.
    private readonly Waits.NetworkWaits _waits;
    private readonly Dictionary<string, int> _faultStreak = new(StringComparer.Ordinal);
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;

    // The links in force (changed at run time through the admin API): rows of a paused link wait; rows toward an
    // endpoint no longer in its link are dead-lettered. Null in tests that build a worker alone.
    private readonly Configuration.BridgeTopology? _topology;

    public NetworkDeliveryWorker(INetworkConnector connector, IBridgeStore store, DeliverySignals signals, DeliveryOptions options, ILogger logger, TimeProvider time,
        BridgeMetrics? metrics = null, ConnectorRegistry? senders = null, Fairness.LimitsOptions? limits = null, Waits.NetworkWaits? waits = null,
        Configuration.BridgeTopology? topology = null, LeaderFence? fence = null)
    {
        _topology = topology;
        _fence = fence ?? LeaderFence.Unleased(time);
        _waits = waits ?? new Waits.NetworkWaits(time);
        limits ??= new Fairness.LimitsOptions();
        _rounds = new Fairness.FairRounds(limits.FairTurn);
        _limits = new Fairness.DeliveryRateLimits(limits);
        _senders = senders;
        _metrics = metrics;
        _connector = connector;
        _store = store;
        _signals = signals;
        _options = options;
        _logger = logger;
        _time = time;

        // Short in-process retries absorb blips (a dropped HTTP connection, a brief 429); anything longer is
        // rescheduled durably so a restart or a long outage loses nothing.
        _pipeline = new ResiliencePipelineBuilder<DeliveryResult>()
            .AddRetry(new RetryStrategyOptions<DeliveryResult>
            {
                MaxRetryAttempts = 2,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                ShouldHandle = new PredicateBuilder<DeliveryResult>()
                    .Handle<Exception>(ex => ex is not OperationCanceledException || ex is TimeoutRejectedException)
                    // A network's own fault (server error, rate limit) is not retried at once: the worker backs off.
                    .HandleResult(r => r is DeliveryResult.RetryLater { Counts: true, After: null } ||
                                       r is DeliveryResult.RetryLater { Counts: true } rl && rl.After <= TimeSpan.FromSeconds(2)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is DeliveryResult.RetryLater { After: { } after } ? after : (TimeSpan?)null),
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    public string NetworkId => _connector.NetworkId;

    /// <summary>
    /// Delivers until <paramref name="stoppingToken"/> fires. Stopping only stops picking up rows: the delivery in flight
    /// runs to its end and is recorded, because cancelling it after the destination has the message leaves a pending
    /// row that is sent again after the restart. <paramref name="abortToken"/> cuts the delivery in flight short
    /// (the host's stop deadline); its row stays pending and the destination's own guard must catch the repeat.
    /// </summary>
    public async Task RunAsync(CancellationToken stoppingToken, CancellationToken abortToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var delivered = await RunOnceAsync(stoppingToken, abortToken);
                _lastWorkerError = null;
                if (!delivered || _settled)
                {
                    // A row committed after this pass's read signals (the router commits, then signals), and a signal
                    // is kept until read: waiting here misses nothing. One empty read less per message.
                    await WaitForWorkAsync(stoppingToken);
                    foreach (var channel in _waitingOnConnector)
                    {
                        _blockedUntil.Remove(channel);
                    }

                    _waitingOnConnector.Clear();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested || abortToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Store trouble (disk full, lock): keep the worker alive and try again shortly. The same failure
                // again and again (a full disk for an hour) is logged once, not every second.
                var what = ex.GetType().FullName + ": " + ex.Message;
                if (what != _lastWorkerError)
                {
                    _logger.LogError(DeliveryLog.WorkerError, ex, "Delivery worker for {Network} failed; retrying", NetworkId);
                    _lastWorkerError = what;
                }
                else
                {
                    _logger.LogDebug(DeliveryLog.WorkerError, "Delivery worker for {Network} still failing: {Error}", NetworkId, ex.Message);
                }

                await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// Waits until a pass may find something to do: a room's wait ran out, the periodic look, or a signal. After a
    /// settled pass, a signal that names only rooms still waiting or held is let go by: a waiting room's rows go when its
    /// wait ends (this wait's deadline), a held room's when its link is resumed (a signal naming no room).
    /// </summary>
    private async Task WaitForWorkAsync(CancellationToken cancellationToken)
    {
        // One deadline for the whole wait, never later than the periodic look: signals let go by must not push back a
        // room's wait's end, nor the look that finds rows whose commit signalled nothing (a commit retried after its
        // reply was lost finds the event stored and signals no one).
        var deadline = _time.GetUtcNow() + Min(NextWake(), PeriodicLook);
        while (true)
        {
            var left = deadline - _time.GetUtcNow();
            if (left <= TimeSpan.Zero || !await _signals.WaitAsync(NetworkId, left, cancellationToken))
            {
                return;
            }

            var signalled = _signals.Take(NetworkId);
            if (!_settled || signalled.AnyRoom || !_connector.IsReady || !_fence.MayAct)
            {
                return;
            }

            var now = _time.GetUtcNow();
            var held = Held();
            if (_blockedUntil.Values.Any(until => until <= now) ||
                signalled.Rooms.Any(room => !held.Contains(room) && !(_blockedUntil.TryGetValue(room, out var until) && until > now)))
            {
                return;
            }
        }
    }

    /// <summary>Delivers what is due now; returns true if anything was delivered or the pass gave way to other rooms (so the caller loops without waiting).</summary>
    internal Task<bool> RunOnceAsync(CancellationToken cancellationToken) => RunOnceAsync(cancellationToken, cancellationToken);

    /// <summary>Delivers what is due now; <paramref name="stoppingToken"/> stops before the next row, <paramref name="abortToken"/> aborts the one in flight.</summary>
    internal async Task<bool> RunOnceAsync(CancellationToken stoppingToken, CancellationToken abortToken)
    {
        var cancellationToken = stoppingToken;
        _settled = false;
        if (!_fence.MayAct)
        {
            return false;
        }

        await RecordUnrecordedAsync(cancellationToken);
        if (!_connector.IsReady)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        if (_pausedUntil > now)
        {
            return false;
        }

        foreach (var expired in _blockedUntil.Where(kv => kv.Value <= now).Select(kv => kv.Key).ToList())
        {
            _blockedUntil.Remove(expired);
        }

        // Signals raised from here on are for rows this pass's read may not have: only those can cut the pass short.
        var signalsBefore = _signals.Mark(NetworkId);
        var (items, complete) = await FetchFairlyAsync(cancellationToken);
        var progressed = false;
        var delivered = 0;
        var passStarted = _time.GetTimestamp();
        HashSet<string>? passRooms = null;

        // Rows answered in this pass (by a run, on their own, or dead-lettered: done, or their room now waits), and rows
        // a run took a rate-limit token for but did not get to: a run's rows are met again further down this loop, the
        // first to be left alone, the second without taking a second token.
        var answered = new HashSet<long>();
        var admittedToRun = new HashSet<long>();
        for (var index = 0; index < items.Count; index++)
        {
            var item = items[index];
            if (answered.Contains(item.Id))
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var channel = item.Destination.ChannelId;
            if (_blockedUntil.ContainsKey(channel) || Held().Contains(channel))
            {
                // Held: the link was paused after this batch was read; the row waits for the resume.
                continue;
            }

            if (_topology is not null && !_topology.HasEndpoint(item.LinkId, item.Destination))
            {
                // The endpoint was removed from its link (or the link deleted) after the row was written: never deliver
                // into a room that is no longer linked; the operator sees the row, with why, among the dead letters.
                answered.Add(item.Id);
                await _store.DeadLetterAsync(item.Id, item.Attempts, $"endpoint-removed: {item.Destination} is no longer in link {item.LinkId}", CancellationToken.None);
                _metrics?.Delivery(NetworkId, "dead_lettered");
                _logger.LogWarning(DeliveryLog.DeadLettered, "Outbox {Id} to {Destination} dead-lettered: the endpoint is no longer in link {Link}", item.Id, item.Destination, item.LinkId);
                progressed = true;
                continue;
            }

            if (item.NotBefore > _time.GetUtcNow())
            {
                _blockedUntil[channel] = item.NotBefore;
                continue;
            }

            if (!_connector.IsReady || !_fence.MayAct)
            {
                return progressed;
            }

            if (!admittedToRun.Remove(item.Id) && !_limits.TryAcquire(item, out var wait))
            {
                // Over the sender's or the link's rate: the room waits (in order, durably); other rooms go on.
                _blockedUntil[channel] = _time.GetUtcNow() + wait;
                _metrics?.Delivery(NetworkId, "rate_limited");
                continue;
            }

            var maxRun = _connector is IRunDelivery runs ? runs.MaxRunInto(channel) : 1;
            var run = maxRun > 1 ? CollectRun(items, index, maxRun, admittedToRun) : null;
            if (run is { Count: > 1 })
            {
                var done = await DeliverRunAsync((IRunDelivery)_connector, run, answered, abortToken);
                progressed |= done > 0;
                delivered += done;
            }
            else
            {
                answered.Add(item.Id);
                if (await DeliverOneAsync(item, abortToken))
                {
                    progressed = true;
                    delivered++;
                }
            }

            if (_pausedUntil > _time.GetUtcNow())
            {
                // Rate limited: no other room asks either until the server's time is up.
                return progressed;
            }

            if (admittedToRun.Count == 0 && YieldsToNewRooms(items, index, answered, signalsBefore, passStarted, ref passRooms))
            {
                // Rows for a room outside this pass were committed while it ran: a pass takes a whole batch when the batch
                // holds every waiting row (one room's 100 flooded rows), and against a slow server that is seconds.
                // The room waits for the rest of this pass no longer than YieldToNewRoomsAfter. The next pass, straight
                // away, reads those rooms' rows; its own mark leaves out the signals this pass acted on.
                return true;
            }
        }

        var held = Held();
        _settled = complete && _unrecorded.Count == 0 && items.All(i =>
            answered.Contains(i.Id) || _blockedUntil.ContainsKey(i.Destination.ChannelId) || held.Contains(i.Destination.ChannelId));
        return progressed;
    }

    /// <summary>
    /// True when the pass has run for <see cref="DeliveryOptions.YieldToNewRoomsAfter"/>, rows of it are still to go, and a
    /// signal raised since its read names a room it does not hold, that has not had its turn in this round and neither
    /// waits nor is held. Then the rooms this pass answered count as served (<see cref="Fairness.FairRounds.YieldTo"/>):
    /// the next read leaves them out and so takes the new room's rows and the rooms this pass did not reach; the rows
    /// not yet delivered stay pending, in order.
    /// </summary>
    private bool YieldsToNewRooms(IReadOnlyList<OutboxItem> items, int index, HashSet<long> answered, long signalsBefore, long passStarted,
        ref HashSet<string>? passRooms)
    {
        if (_time.GetElapsedTime(passStarted) < _options.YieldToNewRoomsAfter)
        {
            return false;
        }

        var rest = false;
        for (var i = index + 1; i < items.Count && !rest; i++)
        {
            rest = !answered.Contains(items[i].Id);
        }

        if (!rest)
        {
            return false;
        }

        var rooms = passRooms ??= items.Select(i => i.Destination.ChannelId).ToHashSet(StringComparer.Ordinal);
        var held = Held();
        if (!_signals.NamesRoomSince(NetworkId, signalsBefore, room =>
                !rooms.Contains(room) && !_rounds.Served.Contains(room) && !_blockedUntil.ContainsKey(room) && !held.Contains(room)))
        {
            return false;
        }

        _rounds.YieldTo(items.Where(i => answered.Contains(i.Id)).Select(i => i.Destination.ChannelId));
        return true;
    }

    /// <summary>Whether the last pass read every pending row outside the rooms that wait and dealt with each (see <see cref="_settled"/>).</summary>
    internal bool LastPassSettled => _settled;

    private IReadOnlyCollection<string> Held() => _topology?.HeldChannelsOf(NetworkId) ?? [];

    /// <summary>
    /// This round's rows: rooms that already had their turn are left out until every waiting room had one. Complete when
    /// the rows are every pending row of the network outside the rooms that wait (blocked or held): no room left out for
    /// its turn, fewer rows than a batch, and all of them taken.
    /// </summary>
    private async Task<(IReadOnlyList<OutboxItem> Items, bool Complete)> FetchFairlyAsync(CancellationToken cancellationToken)
    {
        if (_rounds.InRound)
        {
            var exclude = new HashSet<string>(_blockedUntil.Keys, StringComparer.Ordinal);
            exclude.UnionWith(_rounds.Served);
            exclude.UnionWith(Held());
            var rest = await ReadPendingAsync(exclude, cancellationToken);
            if (rest.Count > 0)
            {
                return (_rounds.Take(rest), false);
            }

            _rounds.NewRound();
        }

        var held = Held();
        var batch = await ReadPendingAsync(held.Count == 0 ? _blockedUntil.Keys : [.. _blockedUntil.Keys, .. held], cancellationToken);
        var complete = batch.Count < _options.BatchSize;
        var taken = _rounds.Take(batch, complete);
        return (taken, complete && taken.Count == batch.Count);
    }

    private async Task<IReadOnlyList<OutboxItem>> ReadPendingAsync(IReadOnlyCollection<string> exclude, CancellationToken cancellationToken)
    {
        var reading = _time.GetTimestamp();
        var rows = await _store.GetPendingAsync(NetworkId, exclude, _options.BatchSize, cancellationToken);
        _metrics?.Stage(BridgeTracing.Stages.Fetch, NetworkId, _time.GetElapsedTime(reading));
        return rows;
    }

    /// <summary>Whether <paramref name="e"/> may go in a run: a plain message that names no other message (see <see cref="IRunDelivery"/>).</summary>
    /// <remarks>Files stay out: their uploads would make one run's attempt as long as all of them.</remarks>
    private static bool Runnable(BridgeEvent e) =>
        e.Kind == BridgeEventKind.Message && e.TargetNativeId is null && e.ReplyToNativeId is null && e.ThreadRootNativeId is null && e.Attachments.Count == 0;

    /// <summary>
    /// The run that starts at <paramref name="first"/> (already admitted): it and the rows of its channel right after it,
    /// up to <paramref name="maxRun"/>, while each is a plain message of the same sender that is due, still linked and
    /// within the rate limits. Another channel's rows in between are passed over (their turn comes in this loop); the
    /// first row of the channel that cannot join ends the run, so nothing of the channel is sent out of order.
    /// </summary>
    private List<OutboxItem> CollectRun(IReadOnlyList<OutboxItem> items, int first, int maxRun, HashSet<long> admitted)
    {
        var head = items[first];
        var run = new List<OutboxItem> { head };
        if (!Runnable(head.Event))
        {
            return run;
        }

        var now = _time.GetUtcNow();
        for (var i = first + 1; i < items.Count && run.Count < maxRun; i++)
        {
            var next = items[i];
            if (!string.Equals(next.Destination.ChannelId, head.Destination.ChannelId, StringComparison.Ordinal))
            {
                continue;
            }

            // The same sender as shown (name and picture too): a puppet renamed mid-run would relabel the messages before it.
            if (!Runnable(next.Event) || next.Event.NetworkId != head.Event.NetworkId || next.Event.Sender != head.Event.Sender ||
                next.LinkId != head.LinkId || next.NotBefore > now || (_topology is not null && !_topology.HasEndpoint(next.LinkId, next.Destination)) ||
                (!admitted.Contains(next.Id) && !_limits.TryAcquire(next, out _)))
            {
                break;
            }

            admitted.Add(next.Id);
            run.Add(next);
        }

        return run;
    }

    /// <summary>
    /// Hands a run to the connector and records each answer in order, exactly as one delivery at a time would. Returns
    /// how many rows are done; the rows the connector gave no answer for stay pending and are met again in this pass.
    /// </summary>
    private async Task<int> DeliverRunAsync(IRunDelivery runs, List<OutboxItem> run, HashSet<long> answered, CancellationToken cancellationToken)
    {
        using var span = BridgeTracing.Source.StartActivity("bridge.deliver_run", ActivityKind.Producer);
        span?.SetTag("bridge.network", NetworkId);
        span?.SetTag("bridge.run_length", run.Count);
        var prepared = new List<PreparedRow>(run.Count);
        foreach (var item in run)
        {
            var row = await PrepareAsync(item, cancellationToken);
            if (row.Request is null)
            {
                if (prepared.Count == 0)
                {
                    answered.Add(item.Id);
                    return await DeliverOneAsync(item, cancellationToken, row) ? 1 : 0; // records the skip
                }

                break; // skipped on this network: this pass meets it again and records why
            }

            prepared.Add(row);
        }

        var requests = prepared.ConvertAll(p => p.Request!);
        var sending = _time.GetTimestamp();
        IReadOnlyList<DeliveryResult> results;
        try
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(_options.AttemptTimeout);
            using var sendSpan = BridgeTracing.Source.StartActivity("bridge.send", ActivityKind.Client);
            sendSpan?.SetTag("bridge.run_length", requests.Count);
            results = _fence.MayAct
                ? await runs.DeliverRunAsync(requests, attempt.Token)
                : [new DeliveryResult.RetryLater("the leader lease is not held here: not sent", CountsAsAttempt: false)];
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // The run as a whole failed (nothing answered): the head goes on its own, with the single path's retries and
            // timeout, and nothing is charged to it for the run; the connector looks for what may have gone out.
            _logger.LogDebug(DeliveryLog.Retrying, "A run of {Count} to {Destination} failed ({Error}); delivering its first row on its own", run.Count, run[0].Destination, ex.Message);
            answered.Add(run[0].Id);
            return await DeliverOneAsync(run[0], cancellationToken, prepared[0]) ? 1 : 0;
        }

        if (results.Count == 0 || results.Count > requests.Count)
        {
            results = [new DeliveryResult.RetryLater($"the connector answered a run of {requests.Count} with {results.Count} results")];
        }

        // The run's messages shared one network wait: each row records its share of it, so the stage's sum stays the time
        // spent sending and its count the messages sent (docs/performance.md, "Where the time goes").
        var share = _time.GetElapsedTime(sending) / results.Count;
        var done = 0;
        DeliveryResult.RetryLater? waiting = null;
        for (var i = 0; i < results.Count; i++)
        {
            var item = run[i];
            var result = results[i];
            answered.Add(item.Id);

            // Stages are recorded for the rows the connector answered only: the others are prepared (and counted) again
            // when they are handed over again.
            RecordPrepareStages(prepared[i]);
            _metrics?.Stage(BridgeTracing.Stages.Send, NetworkId, share);
            if (waiting is not null && result is DeliveryResult.RetryLater)
            {
                // The room already waits behind the first row that must wait: this one stays pending as it is, in order,
                // and is not charged an attempt it would not have had on its own.
                continue;
            }

            if (waiting is not null && result is DeliveryResult.Delivered)
            {
                // The network refused a row and took a later one of the same run (a room throttle): the later one is in
                // the room, so it is recorded; the refused one comes after it. Said loudly, as it breaks the room's order.
                _logger.LogError(DeliveryLog.OrderInverted, "Outbox {Id} to {Destination} was taken although an earlier row of its run was not ({Reason}); that row will arrive after it",
                    item.Id, item.Destination, waiting.Reason);
                _metrics?.Delivery(NetworkId, "order_inverted");
            }

            waiting ??= result as DeliveryResult.RetryLater;
            try
            {
                // A row taken after an earlier one was refused says nothing of the network's fault: the refused row still
                // waits, so the room's backoff streak and the network's wait for /healthz stay as they are.
                if (await RecordResultAsync(item, result, span, clearsFaults: waiting is null))
                {
                    done++;
                }
            }
            catch (Exception)
            {
                // The store refused a write: every later delivery of the run is in the room too, so each is kept to be
                // recorded before anything else is fetched, as the failing one is.
                for (var j = i + 1; j < results.Count; j++)
                {
                    answered.Add(run[j].Id);
                    if (results[j] is DeliveryResult.Delivered later)
                    {
                        _unrecorded.Enqueue((run[j], later.NativeId));
                    }
                }

                throw;
            }
        }

        return done;
    }

    /// <summary>
    /// A row made ready for its destination: the request to hand over, or why it is skipped there (<see cref="SkipAsync"/>);
    /// with how long it was queued and how long the preparing took, recorded once the row is dealt with (not for a row of
    /// a run the connector gave no answer for: it is prepared again).
    /// </summary>
    private readonly record struct PreparedRow(DeliveryRequest? Request, string? SkipReason, string? SkipLog, TimeSpan Queued, TimeSpan Took);

    /// <summary>
    /// Everything before a row is handed to the connector, the same for a row on its own and for each row of a run: the
    /// request built (ids of the rows it names looked up) and degraded for what the destination can show.
    /// </summary>
    private async Task<PreparedRow> PrepareAsync(OutboxItem item, CancellationToken cancellationToken)
    {
        var queued = _time.GetUtcNow() - item.CreatedAt;
        queued = queued < TimeSpan.Zero ? TimeSpan.Zero : queued;
        var preparing = _time.GetTimestamp();
        var request = await BuildRequestAsync(item, cancellationToken);
        if (item.Event.Kind != BridgeEventKind.Message && item.Event.TargetNativeId is not null && request.TargetNativeId is null)
        {
            // Rows of one channel are delivered in order, so a target that has no id here was never delivered here
            // (blocked by policy, dead-lettered, or from before the link existed): an edit, retraction or reaction
            // must not reach a room that never saw the message, nor turn into a new message there.
            return new PreparedRow(null, "target-not-delivered: its target was never delivered there", "its target was never delivered there",
                queued, _time.GetElapsedTime(preparing));
        }

        var degraded = DeliveryDegradation.Apply(request, _connector.Capabilities, _connector.CanShowReaction);
        if (degraded.Request is null)
        {
            var why = degraded.How ?? "not shown on this network";
            return new PreparedRow(null, why, why, queued, _time.GetElapsedTime(preparing));
        }

        if (degraded.How is not null)
        {
            _logger.LogDebug(DeliveryLog.Degraded, "Outbox {Id} ({Kind}) to {Destination}: {How}", item.Id, item.Event.Kind, item.Destination, degraded.How);
            request = degraded.Request;
        }

        return new PreparedRow(request, null, null, queued, _time.GetElapsedTime(preparing));
    }

    /// <summary>The queued and prepare stages of a row dealt with now (answered by the connector, or skipped), once per row.</summary>
    private void RecordPrepareStages(PreparedRow prepared)
    {
        _metrics?.Stage(BridgeTracing.Stages.Queued, NetworkId, prepared.Queued);
        _metrics?.Stage(BridgeTracing.Stages.Prepare, NetworkId, prepared.Took);
    }

    /// <summary>Records a row the prepare step found nothing to send for; always done.</summary>
    private async Task<bool> SkipAsync(OutboxItem item, PreparedRow prepared)
    {
        await _store.MarkSkippedAsync(item, prepared.SkipReason!, CancellationToken.None);
        _metrics?.Delivery(NetworkId, "skipped");
        _logger.LogInformation(DeliveryLog.Skipped, "Outbox {Id} ({Kind}) to {Destination} skipped: {Reason}", item.Id, item.Event.Kind, item.Destination, prepared.SkipLog);
        return true;
    }

    /// <summary>
    /// Delivers one row with the in-process retries; <paramref name="prepared"/> is the row as a run already prepared it,
    /// when a run that failed as a whole hands its first row over on its own.
    /// </summary>
    private async Task<bool> DeliverOneAsync(OutboxItem item, CancellationToken cancellationToken, PreparedRow? prepared = null)
    {
        using var span = BridgeTracing.Source.StartActivity("bridge.deliver", ActivityKind.Producer);
        span?.SetTag("bridge.network", NetworkId);
        span?.SetTag("bridge.kind", item.Event.Kind.ToString());
        span?.SetTag("bridge.outbox_id", item.Id);
        var row = prepared ?? await PrepareAsync(item, cancellationToken);
        span?.SetTag("bridge.queued_ms", row.Queued.TotalMilliseconds);
        RecordPrepareStages(row);

        if (row.Request is not { } request)
        {
            return await SkipAsync(item, row);
        }

        var sending = _time.GetTimestamp();
        DeliveryResult result;
        try
        {
            using var sendSpan = BridgeTracing.Source.StartActivity("bridge.send", ActivityKind.Client);
            result = await _pipeline.ExecuteAsync(async ct =>
                // Asked again before every in-process retry: a process deposed (or cut from its lease session) while
                // the first attempt ran must not send the row again; the active instance delivers it. Not counted.
                _fence.MayAct
                    ? await _connector.DeliverAsync(request, ct)
                    : new DeliveryResult.RetryLater("the leader lease is not held here: not sent", CountsAsAttempt: false), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            result = new DeliveryResult.RetryLater(ex.GetType().Name + ": " + ex.Message);
        }

        _metrics?.Stage(BridgeTracing.Stages.Send, NetworkId, _time.GetElapsedTime(sending));
        return await RecordResultAsync(item, result, span);
    }

    /// <summary>Records what the destination did with <paramref name="item"/>; true when the row is done (delivered, skipped or dead-lettered).</summary>
    /// <remarks>
    /// A delivery normally ends the room's fault streak and the network's wait; not one the network took out of order
    /// (<paramref name="clearsFaults"/> false), while the row refused before it still waits.
    /// </remarks>
    private async Task<bool> RecordResultAsync(OutboxItem item, DeliveryResult result, Activity? span, bool clearsFaults = true)
    {
        span?.SetTag("bridge.result", result.GetType().Name);
        switch (result)
        {
            case DeliveryResult.Delivered d:
                if (clearsFaults)
                {
                    _faultStreak.Remove(item.Destination.ChannelId);
                    _waits.Cleared(NetworkId);
                }

                _metrics?.Delivery(NetworkId, "delivered");
                _metrics?.Crossed(NetworkId, _time.GetUtcNow() - item.CreatedAt);
                var recording = _time.GetTimestamp();
                try
                {
                    await _store.MarkDeliveredAsync(item, d.NativeId, CancellationToken.None);
                }
                catch (Exception)
                {
                    _unrecorded.Enqueue((item, d.NativeId));
                    throw;
                }

                _metrics?.Stage(BridgeTracing.Stages.Record, NetworkId, _time.GetElapsedTime(recording));

                _logger.LogDebug(DeliveryLog.Delivered, "Delivered outbox {Id} to {Destination} as {NativeId}", item.Id, item.Destination, d.NativeId);
                if (d.SenderNotice is { Length: > 0 } shortfall)
                {
                    _ = TellSenderAsync(item.Event, shortfall);
                }

                return true;
            case DeliveryResult.Skipped s:
                _metrics?.Delivery(NetworkId, "skipped");
                await _store.MarkSkippedAsync(item, s.Reason, CancellationToken.None);
                _logger.LogInformation(DeliveryLog.Skipped, "Outbox {Id} to {Destination} skipped: {Reason}", item.Id, item.Destination, s.Reason);
                return true;
            case DeliveryResult.Rejected r:
                _metrics?.Delivery(NetworkId, "rejected");
                await _store.DeadLetterAsync(item.Id, item.Attempts + 1, r.Reason, CancellationToken.None);
                _logger.LogWarning(DeliveryLog.DeadLettered, "Outbox {Id} to {Destination} dead-lettered: {Reason}", item.Id, item.Destination, r.Reason);
                if (r.SenderNotice is { Length: > 0 } notice)
                {
                    _ = TellSenderAsync(item.Event, notice);
                }

                return true;
            case DeliveryResult.RetryLater retry:
                _metrics?.Delivery(NetworkId, "retry");
                var attempts = retry.Counts ? item.Attempts + 1 : item.Attempts;
                if (attempts >= _options.MaxAttempts)
                {
                    await _store.DeadLetterAsync(item.Id, attempts, $"gave up after {attempts} attempts: {retry.Reason}", CancellationToken.None);
                    _logger.LogWarning(DeliveryLog.DeadLettered, "Outbox {Id} to {Destination} dead-lettered after {Attempts} attempts: {Reason}", item.Id, item.Destination, attempts, retry.Reason);
                    return true;
                }

                var wait = retry.After ?? Backoff(retry.Fault == NetworkFault.None ? attempts : NextFaultStreak(item.Destination.ChannelId));
                var notBefore = _time.GetUtcNow() + wait;
                if (!retry.Counts && retry.Fault == NetworkFault.None)
                {
                    // Waiting on the connector, not on the network: kept in memory only (no store write for a wait
                    // that may end within milliseconds), and ended early by the connector's wake-up (above).
                    _waitingOnConnector.Add(item.Destination.ChannelId);
                }
                else
                {
                    await _store.RescheduleAsync(item.Id, attempts, notBefore, retry.Reason, CancellationToken.None);
                    _waitingOnConnector.Remove(item.Destination.ChannelId);
                }

                _blockedUntil[item.Destination.ChannelId] = notBefore;
                if (retry.Fault == NetworkFault.RateLimited && notBefore > _pausedUntil)
                {
                    _pausedUntil = notBefore;
                }

                _waits.Faulted(NetworkId, retry.Fault, retry.Reason, notBefore);
                if (_waitingOnConnector.Contains(item.Destination.ChannelId))
                {
                    // Asked again at every wake-up while the connector is not ready for it: not worth a line each time.
                    _logger.LogDebug(DeliveryLog.Retrying, "Outbox {Id} to {Destination} waits for its connector (at most {Wait}): {Reason}", item.Id, item.Destination, wait, retry.Reason);
                }
                else
                {
                    _logger.LogInformation(DeliveryLog.Retrying, "Outbox {Id} to {Destination} retried in {Wait}: {Reason}", item.Id, item.Destination, wait, retry.Reason);
                }

                return false;
            default:
                throw new InvalidOperationException($"unknown delivery result {result}");
        }
    }

    /// <summary>Records the deliveries that happened while the store refused writes; throws while it still does.</summary>
    private async Task RecordUnrecordedAsync(CancellationToken cancellationToken)
    {
        while (_unrecorded.TryPeek(out var pending))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await _store.MarkDeliveredAsync(pending.Item, pending.NativeId, CancellationToken.None);
            _unrecorded.Dequeue();
        }
    }

    /// <summary>Tells the sender, on their own network, why their event did not arrive; best effort, never blocks delivery.</summary>
    private async Task TellSenderAsync(BridgeEvent e, string notice)
    {
        if (_senders?.Find(e.NetworkId) is not { } source)
        {
            return;
        }

        try
        {
            await source.NotifySenderAsync(e.Channel, e.Sender, notice, CancellationToken.None);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(DeliveryLog.NoticeFailed, ex, "Could not tell {Person} on {Network} that a delivery failed", e.Sender.UserId, e.NetworkId);
        }
    }

    private async Task<DeliveryRequest> BuildRequestAsync(OutboxItem item, CancellationToken cancellationToken)
    {
        var e = item.Event;
        string? target = null, replyTo = null, threadRoot = null;
        if (e.TargetNativeId is not null)
        {
            target = await TranslateAsync(e.NetworkId, e.TargetNativeId, item.Destination, cancellationToken);
        }

        if (e.ReplyToNativeId is not null)
        {
            replyTo = await TranslateAsync(e.NetworkId, e.ReplyToNativeId, item.Destination, cancellationToken);
        }

        if (e.ThreadRootNativeId is not null)
        {
            threadRoot = await TranslateAsync(e.NetworkId, e.ThreadRootNativeId, item.Destination, cancellationToken);
        }

        return new DeliveryRequest
        {
            OutboxId = item.Id,
            LinkId = item.LinkId,
            Destination = item.Destination,
            Event = e,
            TargetNativeId = target,
            ReplyToNativeId = replyTo,
            ThreadRootNativeId = threadRoot,
            Label = item.Label,
            Attempt = item.Attempts,
            QueuedAt = item.CreatedAt,
        };
    }

    private async Task<string?> TranslateAsync(string sourceNetwork, string sourceNativeId, ChannelRef destination, CancellationToken cancellationToken)
    {
        var origin = await _store.FindOriginAsync(sourceNetwork, sourceNativeId, cancellationToken);
        return origin is null ? null : await _store.FindNativeIdAsync(origin, destination, cancellationToken);
    }

    private TimeSpan Backoff(int attempts)
    {
        var ms = _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempts - 1));
        ms = Math.Min(ms, _options.MaxBackoff.TotalMilliseconds);
        // Full jitter on the upper half keeps many channels from retrying in lockstep.
        return TimeSpan.FromMilliseconds((ms / 2) + (Random.Shared.NextDouble() * ms / 2));
    }

    private int NextFaultStreak(string channel)
    {
        var streak = _faultStreak.GetValueOrDefault(channel) + 1;
        _faultStreak[channel] = streak;
        return streak;
    }

    /// <summary>How long a worker with nothing to do waits at most before it reads the outbox again on its own.</summary>
    private static readonly TimeSpan PeriodicLook = TimeSpan.FromSeconds(5);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private TimeSpan NextWake()
    {
        if (!_connector.IsReady || !_fence.MayAct)
        {
            return TimeSpan.FromMilliseconds(250);
        }

        var paused = _pausedUntil - _time.GetUtcNow();
        if (paused > TimeSpan.Zero)
        {
            return paused;
        }

        if (_blockedUntil.Count == 0)
        {
            return PeriodicLook;
        }

        var soonest = _blockedUntil.Values.Min() - _time.GetUtcNow();
        return soonest < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : soonest;
    }
}

internal static class DeliveryLog
{
    public static readonly EventId Delivered = new(3001, nameof(Delivered));
    public static readonly EventId Retrying = new(3002, nameof(Retrying));
    public static readonly EventId DeadLettered = new(3003, nameof(DeadLettered));
    public static readonly EventId Skipped = new(3004, nameof(Skipped));
    public static readonly EventId NoticeFailed = new(3006, nameof(NoticeFailed));
    public static readonly EventId WorkerError = new(3005, nameof(WorkerError));
    public static readonly EventId Degraded = new(3007, nameof(Degraded));
    public static readonly EventId OrderInverted = new(3008, nameof(OrderInverted));
}
