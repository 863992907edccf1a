namespace Bridge.Core.Connectors;

/// <summary>What happened to one delivery attempt.</summary>
public abstract record DeliveryResult
{
    /// <summary>
    /// Delivered; <paramref name="NativeId"/> is the id the destination gave it (for later edits, replies, echo
    /// suppression). <paramref name="SenderNotice"/>, when set, tells the sender how the delivery fell short of what
    /// they sent (an edit cut to the destination's limit).
    /// </summary>
    public sealed record Delivered(string NativeId, string? SenderNotice = null) : DeliveryResult;

    /// <summary>
    /// Could not deliver now (network down, rate limited, puppet not joined yet); try again later. Counts as an attempt
    /// unless <paramref name="CountsAsAttempt"/> is false or <paramref name="Fault"/> names the network's own trouble
    /// (a server error or a rate limit is the network's fault, never the message's, so it never dead-letters it).
    /// </summary>
    public sealed record RetryLater(string Reason, TimeSpan? After = null, bool CountsAsAttempt = true, NetworkFault Fault = NetworkFault.None) : DeliveryResult
    {
        /// <summary>Whether this answer brings the row closer to dead-lettering.</summary>
        public bool Counts => CountsAsAttempt && Fault == NetworkFault.None;
    }

    /// <summary>
    /// Will never succeed (rejected by the destination): dead-letter with this reason. <paramref name="SenderNotice"/>,
    /// when set, is told to the event's sender on their own network (for example "too large"): only what the sender
    /// can act on, naming only this destination, which the policy already let them reach.
    /// </summary>
    public sealed record Rejected(string Reason, string? SenderNotice = null) : DeliveryResult;

    /// <summary>Nothing to do on this network (for example a reaction the network cannot express); counts as done.</summary>
    public sealed record Skipped(string Reason) : DeliveryResult;

    public static DeliveryResult Ok(string nativeId) => new Delivered(nativeId);
}

/// <summary>Why a network, rather than a message, made a delivery wait; shown per network on <c>/healthz</c>.</summary>
public enum NetworkFault
{
    /// <summary>Nothing the network did: the message itself, or a condition of the room.</summary>
    None,

    /// <summary>The server could not be reached (connection refused or reset).</summary>
    Unreachable,

    /// <summary>The server answered with a 5xx.</summary>
    ServerError,

    /// <summary>The server asked us to slow down (429, <c>M_LIMIT_EXCEEDED</c>, <c>X-RateLimit-*</c>).</summary>
    RateLimited,
}
