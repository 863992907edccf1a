using Bridge.Core.Connectors;

namespace Bridge.Core.Delivery.Fairness;

/// <summary>
/// How fast one person and one link may be delivered toward each destination network, and how many rows a room
/// delivers before the next room's turn. Bound from <c>limits:</c>. Over a limit, deliveries wait (durably, in
/// order); nothing is dropped or refused. A rate of 0 turns that limit off.
/// </summary>
public sealed class LimitsOptions
{
    /// <summary>Deliveries per second from one sender (source network and user) toward one destination network.</summary>
    public double SenderPerSecond { get; set; } = 20;

    /// <summary>How many of one sender's deliveries may go at once before <see cref="SenderPerSecond"/> applies.</summary>
    public int SenderBurst { get; set; } = 200;

    /// <summary>Deliveries per second of one link toward one destination network, all senders together.</summary>
    public double LinkPerSecond { get; set; } = 50;

    /// <summary>How many of one link's deliveries may go at once before <see cref="LinkPerSecond"/> applies.</summary>
    public int LinkBurst { get; set; } = 500;

    /// <summary>Rows one destination room delivers before the next room with waiting rows gets its turn.</summary>
    public int FairTurn { get; set; } = 32;

    public void Validate(List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        Rate(SenderPerSecond, SenderBurst, "senderPerSecond", "senderBurst", errors);
        Rate(LinkPerSecond, LinkBurst, "linkPerSecond", "linkBurst", errors);
        if (FairTurn is < 1 or > 10_000)
        {
            errors.Add(new ConfigError("limits:fairTurn", "must be between 1 and 10000"));
        }
    }

    private static void Rate(double perSecond, int burst, string rateKey, string burstKey, List<ConfigError> errors)
    {
        if (double.IsNaN(perSecond) || perSecond is < 0 or > 1_000_000)
        {
            errors.Add(new ConfigError("limits:" + rateKey, "must be between 0 (no limit) and 1000000 deliveries per second"));
        }
        else if (perSecond > 0 && perSecond < 0.01)
        {
            errors.Add(new ConfigError("limits:" + rateKey, "must be at least 0.01 per second (or 0 for no limit)"));
        }

        if (burst is < 1 or > 1_000_000)
        {
            errors.Add(new ConfigError("limits:" + burstKey, "must be between 1 and 1000000"));
        }
    }
}
