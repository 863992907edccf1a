using System.Text.Json;

namespace Bridge.Tests.HostTests;

/// <summary>
/// The runtime settings the daemon ships in bridge.runtimeconfig.json (from src/Bridge.Host/Bridge.Host.csproj), so
/// `dotnet run`, a container and the systemd unit all start it the same way (docs/performance.md, "Memory").
/// </summary>
public sealed class RuntimeSettingsTests
{
    private static JsonElement Properties()
    {
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "bridge.runtimeconfig.json"));
        using var doc = JsonDocument.Parse(file);
        return doc.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }

    [Fact]
    public void Globalization_is_invariant_as_the_label_rules_and_their_tests_assume()
    {
        // Label matching uses the bridge's own Unicode tables (Nfkc), written for invariant mode, where
        // string.Normalize does nothing; the policy tests run in the same mode (Directory.Build.props).
        Assert.True(Properties().GetProperty("System.Globalization.Invariant").GetBoolean());
    }

    [Fact]
    public void Write_xor_execute_stays_on()
    {
        // W^X off (System.Runtime.EnableWriteXorExecute=false) was measured for memory and moved nothing beyond the
        // bench's spread, while it leaves the runtime's code pages writable and executable at once in a daemon that
        // reads untrusted network input; it is not to come back without a measured gain that outweighs that.
        Assert.False(Properties().TryGetProperty("System.Runtime.EnableWriteXorExecute", out _));
    }
}
