namespace Sandbox.Matrix;

/// <summary>Settings of a sandbox homeserver. Retry timings are small by default so tests stay fast.</summary>
public sealed class MatrixSandboxOptions
{
    /// <summary>The homeserver's server name: the part after the colon in user ids, room ids and aliases.</summary>
    public string ServerName { get; set; } = "localhost";

    /// <summary>Loopback address Kestrel binds.</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one on the first start (restarts reuse the port actually bound).</summary>
    public int Port { get; set; }

    /// <summary>First delay before retrying a failed appservice transaction; doubles on each failure.</summary>
    public TimeSpan TransactionRetryMin { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap of the exponential backoff between transaction retries.</summary>
    public TimeSpan TransactionRetryMax { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one transaction push (or query) may take before it counts as failed.</summary>
    public TimeSpan AppserviceRequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Events per transaction, as real homeservers batch (Synapse: 100).</summary>
    public int MaxEventsPerTransaction { get; set; } = 100;

    /// <summary>Maximum media upload size in bytes.</summary>
    public long MaxUploadBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>
    /// Authenticated media (spec v1.11, Synapse's <c>enable_authenticated_media</c>, on by default since 1.120): media is
    /// downloaded from <c>/_matrix/client/v1/media</c> with a token, and the legacy unauthenticated download answers 404
    /// <c>M_NOT_FOUND</c> for it. False behaves like a homeserver older than v1.11: the v1 media endpoints are unknown
    /// (404 <c>M_UNRECOGNIZED</c>) and the legacy download serves everything.
    /// </summary>
    public bool AuthenticatedMedia { get; set; } = true;

    /// <summary>Behave like an older homeserver: legacy appservice paths with <c>?access_token=</c>, no ping endpoint.</summary>
    public bool UseLegacyAppservicePaths { get; set; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ServerName) || ServerName.Contains('@', StringComparison.Ordinal) || ServerName.Contains('!', StringComparison.Ordinal))
        {
            throw new ArgumentException("ServerName must be a host name (e.g. localhost)", nameof(ServerName));
        }

        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException("Port must be 0..65535", nameof(Port));
        }

        if (TransactionRetryMin <= TimeSpan.Zero || TransactionRetryMax < TransactionRetryMin)
        {
            throw new ArgumentException("TransactionRetryMin must be > 0 and <= TransactionRetryMax", nameof(TransactionRetryMax));
        }

        if (MaxEventsPerTransaction < 1)
        {
            throw new ArgumentException("MaxEventsPerTransaction must be positive", nameof(MaxEventsPerTransaction));
        }
    }
}
