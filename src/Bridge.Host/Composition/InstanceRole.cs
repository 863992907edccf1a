namespace Bridge.Host.Composition;

/// <summary>What this process is doing among the bridge processes sharing one store.</summary>
internal enum InstanceRoleKind
{
    /// <summary>The only process (SQLite, or PostgreSQL without rivals to elect against): it delivers.</summary>
    Single,

    /// <summary>Waiting for the leader lease; connectors and delivery are not started.</summary>
    Standby,

    /// <summary>Holds the leader lease and delivers.</summary>
    Active,

    /// <summary>Lost the lease while active; stopping with exit code <see cref="InstanceRole.DeposedExitCode"/>.</summary>
    Deposed,
}

/// <summary>
/// This process's role, shown on the admin API and in metrics, and the exit code the run verb returns. One instance per
/// host (no static state); the leadership gate is the only writer.
/// </summary>
internal sealed class InstanceRole(TimeProvider time)
{
    /// <summary>Exit code after losing the lease: non-zero so that <c>Restart=on-failure</c> brings the process back as a standby.</summary>
    public const int DeposedExitCode = 3;

    private readonly Lock _lock = new();
    private InstanceRoleKind _kind = InstanceRoleKind.Single;
    private DateTimeOffset _since = time.GetUtcNow();
    private string? _holder;

    /// <summary>How this process names itself to the other instances (host and process id).</summary>
    public string InstanceName { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    public (InstanceRoleKind Kind, DateTimeOffset Since, string? Holder) Current
    {
        get
        {
            lock (_lock)
            {
                return (_kind, _since, _holder);
            }
        }
    }

    /// <summary>The code <c>bridge run</c> exits with after a normal stop.</summary>
    public int ExitCode => Current.Kind == InstanceRoleKind.Deposed ? DeposedExitCode : 0;

    public void Set(InstanceRoleKind kind, string? holder = null)
    {
        lock (_lock)
        {
            if (_kind != kind)
            {
                _since = time.GetUtcNow();
            }

            _kind = kind;
            _holder = holder;
        }
    }
}
