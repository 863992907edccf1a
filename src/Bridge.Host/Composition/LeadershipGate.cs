using Bridge.Core.Storage.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Bridge.Host.Composition;

/// <summary>
/// With PostgreSQL, several bridge processes may share one store for high availability, but only one may deliver:
/// this gate holds the start of the bridge until this process holds the leader lease, and stops the process
/// (exit code 3, so systemd restarts it as a standby) if the lease is lost.
/// </summary>
/// <remarks>
/// A standby is a healthy process: it tells systemd it is ready (under <c>Type=notify</c> a start that never completes
/// would be killed at the start timeout, in a loop), serves the admin API with its role and the holder, and a SIGTERM
/// while it waits is a clean stop.
/// </remarks>
internal sealed class LeadershipGate(
    PostgresLeaderLease lease, InstanceRole role, SystemdNotify systemd, IHostApplicationLifetime lifetime, ILogger<LeadershipGate> logger)
    : IHostedService, IAsyncDisposable
{
    private static readonly EventId Waiting = new(950, "WaitingForLease");
    private static readonly EventId LeaseLost = new(951, nameof(LeaseLost));
    private static readonly EventId Active = new(952, nameof(Active));
    private static readonly EventId AttemptFailed = new(954, nameof(AttemptFailed));

    private readonly CancellationTokenSource _stopping = new();
    private Task? _watch;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var standby = false;
        while (!await TryAcquireAsync(cancellationToken))
        {
            var holder = await lease.HolderAsync(cancellationToken);
            var holderText = holder is { } h ? $"{h.Holder} (since {h.Since:u})" : null;
            role.Set(InstanceRoleKind.Standby, holderText);
            if (!standby)
            {
                standby = true;
                logger.LogInformation(Waiting, "Standing by: the leader lease is held by {Holder}", holderText ?? "another bridge process");
                systemd.Send("READY=1\nSTATUS=standby: waiting for the leader lease");
            }

            await Task.Delay(lease.HeartbeatInterval, cancellationToken);
        }

        role.Set(InstanceRoleKind.Active);
        logger.LogInformation(Active, "Holding the leader lease as {Instance} (epoch {Epoch}): starting", role.InstanceName, lease.Epoch);
        systemd.Send("STATUS=active");
        _watch = Task.Run(() => WatchAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>
    /// Runs after the bridge runtime has stopped (hosted services stop in reverse order), so the deliveries in flight are
    /// recorded before the lease is released and a standby may take over.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_watch is not null)
        {
            await _watch.WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        await lease.ReleaseAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        await lease.DisposeAsync();
    }

    private async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await lease.TryAcquireAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException or IOException)
        {
            logger.LogWarning(AttemptFailed, "Leader lease attempt failed ({Reason}); retrying", ex.Message);
            return false;
        }
    }

    /// <summary>
    /// Renews the lease every heartbeat. Stops the process (exit 3) when the lease is lost: a renewal found a newer
    /// epoch, the lease ran out unconfirmed, or the store's fence refused a commit (which cancels the fence's token, so
    /// the stop does not wait for the next heartbeat).
    /// </summary>
    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Fence.Lost);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(lease.HeartbeatInterval, either.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                if (lease.Fence.IsLost || await lease.RenewAsync(cancellationToken) == LeaseRenewal.Lost)
                {
                    logger.LogCritical(LeaseLost, "Lost the leader lease; stopping (exit code {Code}) so another instance can take over", InstanceRole.DeposedExitCode);
                    role.Set(InstanceRoleKind.Deposed);
                    lifetime.StopApplication();
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
