using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// SIGTERM while the daemon is still starting (the store being opened and migrated, connectors starting) is a clean
/// stop: exit 0 and no error line. Before, the cancelled start was logged as <c>fail: … Hosting failed to start</c>
/// with a stack trace, which an operator reads as a fault (found by the 100-kill storm's SIGTERMs right after a restart).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class StopDuringStartTests
{
    [Fact]
    public async Task Sigterm_at_any_point_of_the_start_exits_0_without_an_error_line()
    {
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions { Matrix = false },
            // The host's own "Hosting starting" (debug) marks the moment the start began.
            b => b.Raw("logging:\n  LogLevel:\n    Microsoft.Extensions.Hosting: Debug\n"));
        await using (var first = await net.StartBridgeAsync())
        {
            Assert.Equal(0, await first.TerminateAsync(TimeSpan.FromSeconds(60)));
        }

        foreach (var afterMs in new[] { 0, 50, 150, 300, 600, 1000 })
        {
            await using var bridge = await BridgeProcess.StartAsync(net.ConfigPath, readyText: "Hosting starting");
            await Task.Delay(afterMs);
            var exit = await bridge.TerminateAsync(TimeSpan.FromSeconds(60));
            Assert.True(exit == 0, $"SIGTERM {afterMs} ms into the start: exit {exit}\n{bridge.Output}");
            Assert.False(bridge.Output.Contains(" fail: ", StringComparison.Ordinal) || bridge.Output.Contains(" crit: ", StringComparison.Ordinal),
                $"SIGTERM {afterMs} ms into the start logged an error:\n{bridge.Output}");
        }
    }
}
