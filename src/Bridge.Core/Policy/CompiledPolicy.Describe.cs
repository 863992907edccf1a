using Bridge.Core.Configuration;

namespace Bridge.Core.Policy;

/// <summary>
/// The effective sharing rules toward one destination network of a link, as an operator reads them: whether anything
/// is delivered, from which of the link's networks nothing is (information barriers), the clearance, and which content
/// rules change messages. Rule names and counts only, never a rule's patterns (redaction patterns can be sensitive).
/// </summary>
public sealed record DestinationPolicy(
    string Network,
    bool Blocked,
    IReadOnlyList<string> BarredSources,
    string? Clearance,
    int SourceFilters,
    string? Attachments,
    string? Links,
    int Redactions,
    int? MaxLength,
    bool NeutraliseMentions,
    bool Notices);

public sealed partial class CompiledPolicy
{
    /// <summary>The rules toward each of <paramref name="networks"/> (each once, in order) on link <paramref name="linkId"/>.</summary>
    public IReadOnlyList<DestinationPolicy> Describe(BridgeTopology topology, string linkId, IEnumerable<string> networks)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var distinct = networks.Distinct(StringComparer.Ordinal).ToList();
        var list = new List<DestinationPolicy>(distinct.Count);
        foreach (var network in distinct)
        {
            var rules = RulesFor(linkId, network);
            topology.TryGetNetwork(network, out var destination);
            var barred = destination is null
                ? []
                : distinct.Where(s => s != network && topology.TryGetNetwork(s, out var source) && IsBarred(source.Organisation, destination.Organisation)).ToList();
            list.Add(new DestinationPolicy(
                network,
                rules.Block,
                barred,
                Labels.IsEnabled && destination is not null ? Labels.Names[ClearanceOf(destination, rules)] : null,
                rules.Filters.Count(f => !f.IsEmpty),
                rules.Attachments is { } a ? (a.BlockMessage ? "restricted: a disallowed file blocks the message" : "restricted: disallowed files are dropped") : null,
                rules.Links is { } l ? $"listed domains only, others: {l.Action.ToString().ToLowerInvariant()}" : null,
                rules.Redactor.Redactions.Count,
                rules.MaxLength,
                rules.NeutraliseMentions,
                rules.Notices));
        }

        return list;
    }
}
