using Bridge.Core.Storage.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Composition;

/// <summary>
/// With PostgreSQL, several bridge processes may share one store for high availability, but only one may deliver:
/// this gate holds the start of the bridge until this process holds the leader lease, and stops the process
/// (exit code 3, so systemd restarts it as a standby) if the lease is lost.
/// </summary>
internal sealed class LeadershipGate(PostgresLeaderLease lease, IHostApplicationLifetime lifetime, ILogger<LeadershipGate> logger) : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _watch;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation(new EventId(950, "WaitingForLease"), "Waiting for the leader lease in PostgreSQL");
        await lease.AcquireAsync(Poll, cancellationToken);
        _watch = Task.Run(() => WatchAsync(_stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_watch is not null)
        {
            await _watch.WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        await lease.DisposeAsync();
    }

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Poll, cancellationToken);
                if (!await lease.CheckAsync(cancellationToken))
                {
                    logger.LogCritical(new EventId(951, "LeaseLost"), "Lost the leader lease; stopping so another instance can take over");
                    Environment.ExitCode = 3;
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
