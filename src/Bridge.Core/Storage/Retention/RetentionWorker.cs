using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Storage.Retention;

/// <summary>
/// Deletes, every <see cref="RetentionOptions.Interval"/>, what the store keeps only for a while: delivered and skipped
/// outbox rows, and old messages' ids (map, inbound mark, echo ids, per-message connector state). Pending rows, dead
/// letters and the audit trail are never touched. Small batches, one transaction each, so ingest and delivery get the
/// store between them. Registered after the runtime, which migrates the schema first.
/// </summary>
public sealed partial class RetentionWorker(IBridgeStore store, RetentionOptions options, ILogger<RetentionWorker> logger, TimeProvider? time = null) : BackgroundService
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>A pause between batches, so that a large backlog (the first run on an old store) never monopolises the store.</summary>
    private static readonly TimeSpan BetweenBatches = TimeSpan.FromMilliseconds(50);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // Out of the way of the start (catch-up, joins): the first pass waits a little.
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, options.IntervalTime.TotalSeconds)), _time, stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                await PruneAllAsync(stoppingToken);
                await Task.Delay(options.IntervalTime, _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <summary>Deletes in batches until nothing old enough is left; returns what it deleted.</summary>
    public async Task<PruneResult> PruneAllAsync(CancellationToken cancellationToken)
    {
        var total = PruneResult.None;
        try
        {
            while (true)
            {
                var now = _time.GetUtcNow();
                var batch = await store.PruneAsync(new PruneCutoffs(now - options.DeliveredAge, now - options.MessageMapAge), options.BatchSize, cancellationToken);
                total += batch;
                if (!batch.FilledBatch(options.BatchSize))
                {
                    break;
                }

                await Task.Delay(BetweenBatches, _time, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Nothing depends on it happening now: the next interval tries again.
            LogFailed(ex);
        }

        if (total != PruneResult.None)
        {
            LogPruned(total.OutboxRows, total.Messages, total.EchoIds, total.StateRows);
        }

        return total;
    }

    [LoggerMessage(EventId = 1020, EventName = "RetentionPruned", Level = LogLevel.Information,
        Message = "Retention deleted {OutboxRows} delivered outbox rows, {Messages} messages' ids, {EchoIds} echo ids and {StateRows} per-message connector state entries")]
    private partial void LogPruned(int outboxRows, int messages, int echoIds, int stateRows);

    [LoggerMessage(EventId = 1021, EventName = "RetentionFailed", Level = LogLevel.Warning, Message = "Retention could not delete old rows; trying again next interval")]
    private partial void LogFailed(Exception exception);
}
