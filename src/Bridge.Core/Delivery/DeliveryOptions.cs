namespace Bridge.Core.Delivery;

/// <summary>How hard the bridge tries before dead-lettering a delivery. Bound from <c>delivery:</c>.</summary>
public sealed class DeliveryOptions
{
    /// <summary>Attempts (that the destination actually answered) before a row is dead-lettered.</summary>
    public int MaxAttempts { get; set; } = 12;

    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Longest a single delivery call may take.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>On stop, how long the deliveries in flight may take to finish before they are cut short.</summary>
    public TimeSpan StopDrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Rows fetched per batch.</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>
    /// How long a pass over a batch runs before a signal for a room outside it may end it (the room is then served before
    /// the rooms the pass answered go on). Not configurable; tests set it to zero.
    /// </summary>
    internal TimeSpan YieldToNewRoomsAfter { get; set; } = TimeSpan.FromMilliseconds(20);
}
