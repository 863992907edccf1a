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
    public void Executable_memory_is_not_double_mapped()
    {
        // With W^X on, the runtime keeps its code and type data in a shared memory file mapped twice; off, it is
        // ordinary private memory.
        Assert.False(Properties().GetProperty("System.Runtime.EnableWriteXorExecute").GetBoolean());
    }
}
