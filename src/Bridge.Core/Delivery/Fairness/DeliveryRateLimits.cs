using System.Threading.RateLimiting;
using Bridge.Core.Storage;

namespace Bridge.Core.Delivery.Fairness;

/// <summary>
/// Token buckets per sender (source network and user) and per link, for one destination network's worker. A row over
/// either limit is not delivered now: the worker holds its room until the bucket refills (order per room holds, the
/// row stays durable, nothing counts as an attempt). Idle buckets are forgotten by the partitioned limiter.
/// </summary>
internal sealed class DeliveryRateLimits : IDisposable
{
    private static readonly TimeSpan Fallback = TimeSpan.FromMilliseconds(100);
    private readonly PartitionedRateLimiter<OutboxItem>? _sender;
    private readonly PartitionedRateLimiter<OutboxItem>? _link;

    public DeliveryRateLimits(LimitsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _sender = Create(options.SenderPerSecond, options.SenderBurst, i => i.Event.NetworkId + "\u0001" + i.Event.Sender.UserId);
        _link = Create(options.LinkPerSecond, options.LinkBurst, i => i.LinkId);
    }

    /// <summary>True when <paramref name="item"/> may be delivered now; else how long its room should wait.</summary>
    public bool TryAcquire(OutboxItem item, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        foreach (var limiter in new[] { _link, _sender })
        {
            if (limiter is null)
            {
                continue;
            }

            using var lease = limiter.AttemptAcquire(item);
            if (!lease.IsAcquired)
            {
                retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : Fallback;
                return false;
            }
        }

        return true;
    }

    public void Dispose()
    {
        _sender?.Dispose();
        _link?.Dispose();
    }

    private static PartitionedRateLimiter<OutboxItem>? Create(double perSecond, int burst, Func<OutboxItem, string> key)
    {
        if (perSecond <= 0)
        {
            return null;
        }

        // Whole tokens per period: ten refills a second for fast rates (smooth), one token per 1/rate for slow ones.
        var (period, tokens) = perSecond >= 10
            ? (TimeSpan.FromMilliseconds(100), (int)Math.Max(1, Math.Round(perSecond / 10)))
            : (TimeSpan.FromSeconds(1 / perSecond), 1);
        var options = new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
        return PartitionedRateLimiter.Create<OutboxItem, string>(item => RateLimitPartition.GetTokenBucketLimiter(key(item), _ => options), StringComparer.Ordinal);
    }
}
