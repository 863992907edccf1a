using Bridge.Core.Policy;

namespace Bridge.Host.Admin.Console;

/// <summary>The policy per destination of a link, for the console's links view.</summary>
internal static class DestinationPolicyView
{
    /// <summary>Without a compiled policy (none configured) everything crosses: each destination says so.</summary>
    public static IReadOnlyList<DestinationPolicy> Describe(ConsoleSources sources, string linkId, IReadOnlyList<string> networks) =>
        sources.Policy?.Describe(sources.Topology, linkId, networks)
        ?? [.. networks.Distinct(StringComparer.Ordinal).Select(n => new DestinationPolicy(n, false, [], null, 0, null, null, 0, null, false, false))];
}
