using Bridge.Core.Audit;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery.Waits;
using Bridge.Core.Policy;
using Bridge.Core.Storage;
using Bridge.Host.Composition;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Admin.Console;

/// <summary>What the console's read-only endpoints read: the daemon's own services, resolved once from its container.</summary>
internal sealed class ConsoleSources(
    ConnectorRegistry connectors,
    IBridgeStore store,
    InstanceRole role,
    Access.AdminTokens tokens,
    BridgeTopology topology,
    ISharingPolicy policy,
    AuditKeyRing auditKeys,
    NetworkWaits waits,
    TimeProvider time,
    ILoggerFactory loggerFactory)
{
    public ConnectorRegistry Connectors { get; } = connectors;
    public IBridgeStore Store { get; } = store;
    public InstanceRole Role { get; } = role;

    /// <summary>True when the API needs a token for reads (tokens are configured): the page then asks for one first.</summary>
    public bool TokenRequired { get; } = !tokens.IsEmpty;
    public BridgeTopology Topology { get; } = topology;
    public AuditKeyRing AuditKeys { get; } = auditKeys;
    public NetworkWaits Waits { get; } = waits;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = loggerFactory.CreateLogger("Bridge.Admin.Console");

    /// <summary>Adds the console to the admin API's app: called before the token check is added (see <see cref="ConsoleEndpoints"/>).</summary>
    public void MapTo(Microsoft.AspNetCore.Builder.WebApplication app) => app.MapConsole(this);

    /// <summary>The policy in force now (a reload swaps it), or null when the daemon runs without a compiled policy.</summary>
    public CompiledPolicy? Policy => policy switch
    {
        ReloadableSharingPolicy reloadable => reloadable.Current,
        CompiledPolicy compiled => compiled,
        _ => null,
    };
}
