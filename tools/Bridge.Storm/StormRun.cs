using Bridge.Storm.Sides;

namespace Bridge.Storm;

/// <summary>
/// A crash storm: three networks sharing one channel, a person on each sending mixed traffic, the daemon killed and
/// restarted <see cref="StormOptions.Kills"/> times meanwhile; then, once the rooms stop changing, the count of what
/// each person sees.
/// </summary>
public sealed class StormRun(StormOptions options, TextWriter log)
{
    private static readonly TimeSpan WarmUpTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan TrafficTail = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan QuietAfterComplete = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleCap = TimeSpan.FromMinutes(5);

    public async Task<StormReport> RunAsync(CancellationToken cancellationToken = default)
    {
        options.Validate();
        log.WriteLine($"storm: seed {options.Seed}, {options.Kills} kills, {options.ActionsPerSecond} actions/s per person");
        await using var world = await StormWorld.StartAsync(options.DaemonLogLevel);
        var chaos = new Chaos(options, world.ConfigPath, log);
        try
        {
            await chaos.StartAsync();
            await world.InviteBotAsync(world.MatrixInviter, cancellationToken);
            await world.JoinPeopleAsync();
            await WarmUpAsync(world.Sides, cancellationToken);
            log.WriteLine("storm: every direction works; traffic and kills start");

            var ledger = new Ledger();
            var senders = world.Sides.Select((side, i) => new Sender(side, ledger, new Random(options.Seed + 1 + i), options.ActionsPerSecond, log)).ToList();
            var started = DateTimeOffset.UtcNow;
            using var stopTraffic = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var traffic = senders.Select(s => Task.Run(() => s.RunAsync(stopTraffic.Token), CancellationToken.None)).ToList();
            try
            {
                await chaos.RunAsync(started, cancellationToken);
                await Task.Delay(TrafficTail, cancellationToken);
            }
            finally
            {
                await stopTraffic.CancelAsync();
                await Task.WhenAll(traffic);
            }

            var stormTime = DateTimeOffset.UtcNow - started;
            log.WriteLine($"storm: traffic stopped after {stormTime.TotalSeconds:0} s; waiting for the rooms to settle");
            var counts = await SettleAsync(world.Sides, ledger, cancellationToken);
            return new StormReport(options, chaos.Kills, counts, ledger.Actions, started, stormTime, senders.Sum(s => s.Failures));
        }
        finally
        {
            await chaos.StopAsync();
        }
    }

    /// <summary>Each person's hello reaches both others before anything is counted (puppets made, rooms joined).</summary>
    private static async Task WarmUpAsync(IReadOnlyList<Side> sides, CancellationToken cancellationToken)
    {
        foreach (var side in sides)
        {
            await side.SayAsync($"warm-up from {side.Network}", cancellationToken);
        }

        var deadline = DateTime.UtcNow + WarmUpTimeout;
        foreach (var to in sides)
        {
            foreach (var from in sides.Where(s => s != to))
            {
                while (!(await to.ViewAsync(cancellationToken)).Items.Any(i => !i.Local && i.Text.EndsWith($"warm-up from {from.Network}", StringComparison.Ordinal)))
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException($"the warm-up from {from.Network} did not reach {to.Network} within {WarmUpTimeout}");
                    }

                    await Task.Delay(100, cancellationToken);
                }
            }
        }
    }

    /// <summary>
    /// Counts until nothing is missing and the rooms stayed the same for a few seconds (so late duplicates show), or
    /// until they stayed the same, still short, for <see cref="StormOptions.SettleTimeout"/>.
    /// </summary>
    private async Task<IReadOnlyList<PairCounts>> SettleAsync(IReadOnlyList<Side> sides, Ledger ledger, CancellationToken cancellationToken)
    {
        var begun = DateTime.UtcNow;
        var lastChange = DateTime.UtcNow;
        string? lastSignature = null;
        while (true)
        {
            var views = new Dictionary<string, RoomView>(StringComparer.Ordinal);
            foreach (var side in sides)
            {
                views[side.Network] = await side.ViewAsync(cancellationToken);
            }

            var counts = Tally.Count(ledger.Actions, views);
            var missing = counts.Sum(c => c.Lost.Count);
            var signature = $"{missing}/{counts.Sum(c => c.Duplicated.Count)}/{views.Values.Sum(v => v.Items.Count + v.Reactions.Count)}";
            if (signature != lastSignature)
            {
                lastSignature = signature;
                lastChange = DateTime.UtcNow;
            }

            var quiet = DateTime.UtcNow - lastChange;
            if ((missing == 0 && quiet >= QuietAfterComplete) || quiet >= options.SettleTimeout || DateTime.UtcNow - begun > SettleCap)
            {
                log.WriteLine($"storm: settled after {(DateTime.UtcNow - begun).TotalSeconds:0} s ({missing} still missing)");
                return counts;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }
}
