using System.Collections.Frozen;
using System.Net;
using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Core.Policy.Content;
using Bridge.Core.Policy.Labels;

namespace Bridge.Core.Policy;

/// <summary>Label settings for one network that the policy sets in place of the network definition's.</summary>
internal sealed record NetworkLabels(string? Clearance, string? DefaultLabel);

/// <summary>
/// A validated, immutable policy, built by <see cref="PolicyCompiler"/>. Evaluation order for one event and one
/// destination: information barrier, destination block, source allow/deny, classification against clearance, then
/// content rules (attachments, links, redaction, mentions, length), then the visible label marker.
/// Thread-safe; allocates nothing beyond the decision when no rule changes the event.
/// </summary>
public sealed class CompiledPolicy : ISharingPolicy
{
    private readonly FrozenDictionary<string, NetworkLabels> _networks;
    private readonly FrozenDictionary<string, FrozenSet<string>> _barriers;
    private readonly FrozenDictionary<string, LinkRules> _links;
    private readonly DestinationRules _defaults;

    internal CompiledPolicy(LabelOrder labels, FrozenDictionary<string, NetworkLabels> networks, FrozenDictionary<string, FrozenSet<string>> barriers,
        FrozenDictionary<string, LinkRules> links, DestinationRules defaults, string fingerprint)
    {
        Labels = labels;
        _networks = networks;
        _barriers = barriers;
        _links = links;
        _defaults = defaults;
        Fingerprint = fingerprint;
    }

    /// <summary>The policy of an empty <c>policy:</c> section: everything crosses, channel-wide mentions are neutralised.</summary>
    public static CompiledPolicy Permissive { get; } = new(LabelOrder.None, FrozenDictionary<string, NetworkLabels>.Empty,
        FrozenDictionary<string, FrozenSet<string>>.Empty, FrozenDictionary<string, LinkRules>.Empty, DestinationRules.AllowAll, PolicyCompiler.FingerprintOfNothing);

    public LabelOrder Labels { get; }

    /// <summary>SHA-256 of the configuration it was compiled from (sorted key=value lines): equal configuration, equal fingerprint.</summary>
    public string Fingerprint { get; }

    public PolicyDecision Decide(PolicyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var e = context.Event;
        var destination = context.DestinationNetwork;
        var rules = RulesFor(context.Link.Id, destination.Id);

        // The label is worked out first so that every audit record carries it, whichever rule decides.
        string? label = null;
        var rank = 0;
        if (Labels.IsEnabled)
        {
            rank = RankOf(e, context.SourceNetwork);
            label = Labels.Names[rank];
        }

        var organisation = string.IsNullOrEmpty(e.Sender.Organisation) ? context.SourceNetwork.Organisation : e.Sender.Organisation;
        if (IsBarred(organisation, destination.Organisation) || IsBarred(context.SourceNetwork.Organisation, destination.Organisation))
        {
            return Blocked(e, destination, rules, "barrier", label, "an information barrier separates the organisations");
        }

        if (rules.Block)
        {
            return Blocked(e, destination, rules, "destination-block", label, "the link does not deliver to this destination");
        }

        foreach (var filter in rules.Filters)
        {
            if (filter.Check(e.Sender, e.NetworkId, organisation) is { } rule)
            {
                return Blocked(e, destination, rules, rule, label, rule == "source-deny" ? "the source is on a deny list" : "the source is not on an allow list");
            }
        }

        if (label is not null)
        {
            var clearance = ClearanceOf(destination, rules);
            if (rank > clearance)
            {
                return Blocked(e, destination, rules, "clearance", label, $"label {label} is above the destination's clearance {Labels.Names[clearance]}");
            }
        }

        if (e.Kind is BridgeEventKind.Message or BridgeEventKind.Edit)
        {
            return ApplyContent(e, destination, rules, label, rank);
        }

        return e.Kind == BridgeEventKind.Reaction && e.ReactionKey is { Length: > 0 } key && ReactionRule(key, rules) is { } reactionRule
            ? Blocked(e, destination, rules, reactionRule, label, "the reaction's key breaks a content rule")
            : Allowed(e, label);
    }

    /// <summary>
    /// Some networks let a reaction be any text (Matrix annotations), so its key must not carry what the content rules
    /// keep out of messages. A reaction cannot be partly delivered: a key that breaks a rule blocks it.
    /// </summary>
    private static string? ReactionRule(string key, DestinationRules rules)
    {
        if (!rules.Redactor.IsEmpty && rules.Redactor.Matches(key))
        {
            return "redact:" + rules.Redactor.FirstMatch(key);
        }

        if (rules.Links is { } links && links.HasDisallowed(key))
        {
            return "links";
        }

        return rules.MaxLength is { } max && key.Length > max ? "max-length" : null;
    }

    /// <summary>The classification of an event: the highest of its structured labels and visible markers, else the source's default.</summary>
    internal int RankOf(BridgeEvent e, NetworkDefinition source)
    {
        var rank = -1;
        var structuredLabels = e.StructuredLabels;
        for (var i = 0; i < structuredLabels.Count; i++) // indexed: no boxed enumerator on the hot path
        {
            var structured = structuredLabels[i];
            if (!string.IsNullOrEmpty(structured))
            {
                rank = Math.Max(rank, Labels.RankCarried(structured));
            }
        }

        var marker = MarkerParser.Parse(e.Text, Labels);
        if (marker.Kind != MarkerKind.None)
        {
            rank = Math.Max(rank, marker.Rank);
        }

        if (e.Html is { Length: > 0 } html)
        {
            var htmlMarker = MarkerParser.Parse(MarkerParser.VisibleStartOfHtml(html), Labels);
            if (htmlMarker.Kind != MarkerKind.None)
            {
                rank = Math.Max(rank, htmlMarker.Rank);
            }
        }

        if (rank >= 0)
        {
            return rank;
        }

        var defaultLabel = _networks.TryGetValue(source.Id, out var n) && n.DefaultLabel is not null ? n.DefaultLabel : source.DefaultLabel;
        // A default that names no known label is treated like a malformed label: the highest.
        return defaultLabel is null ? Labels.Lowest : Labels.RankCarried(defaultLabel);
    }

    /// <summary>The destination's effective clearance: the network's (policy override first), lowered by the link's per-destination clearance.</summary>
    internal int ClearanceOf(NetworkDefinition destination, DestinationRules rules)
    {
        var configured = _networks.TryGetValue(destination.Id, out var n) && n.Clearance is not null ? n.Clearance : destination.Clearance;
        // No clearance, or one naming no known label: cleared for the lowest label only (fail closed), so that a
        // forgotten or misspelt clearance never opens a network to everything.
        var clearance = configured is null ? Labels.Lowest : Labels.TryRank(configured) ?? Labels.Lowest;
        return rules.ClearanceOverride is { } lowered ? Math.Min(clearance, lowered) : clearance;
    }

    /// <summary>Whether the policy's <c>networks:</c> section sets a clearance for <paramref name="networkId"/>.</summary>
    public bool HasClearance(string networkId) => _networks.TryGetValue(networkId, out var n) && n.Clearance is not null;

    internal DestinationRules RulesFor(string linkId, string destinationNetwork)
    {
        if (!_links.TryGetValue(linkId, out var link))
        {
            return _defaults;
        }

        return link.Destinations.TryGetValue(destinationNetwork, out var d) ? d : link.Default;
    }

    private bool IsBarred(string? a, string? b) =>
        !string.IsNullOrEmpty(a) && !string.IsNullOrEmpty(b) && _barriers.TryGetValue(a, out var barred) && barred.Contains(b);

    private PolicyDecision ApplyContent(BridgeEvent e, NetworkDefinition destination, DestinationRules rules, string? label, int rank)
    {
        var text = e.Text;
        var html = e.Html;
        var attachments = e.Attachments;
        string? changedBy = null;

        if (rules.Attachments is { } attachmentFilter && attachments.Count > 0)
        {
            var kept = attachmentFilter.Filter(attachments);
            if (!ReferenceEquals(kept, attachments))
            {
                if (attachmentFilter.BlockMessage)
                {
                    return Blocked(e, destination, rules, "attachments", label, "an attachment is not allowed");
                }

                attachments = kept;
                changedBy = Add(changedBy, "attachments");
            }
        }

        if (rules.Links is { } linkFilter)
        {
            var textHas = linkFilter.HasDisallowed(text);
            var htmlHas = html is not null && linkFilter.HasDisallowed(html);
            if (textHas || htmlHas)
            {
                if (linkFilter.Action == LinkAction.Block)
                {
                    return Blocked(e, destination, rules, "links", label, "a link points to a host that is not allowed");
                }

                text = textHas ? linkFilter.Apply(text) : text;
                html = htmlHas ? null : html; // rewriting HTML is not safe; the rewritten plain text stands in for it
                changedBy = Add(changedBy, "links");
            }
        }

        if (!rules.Redactor.IsEmpty)
        {
            text = rules.Redactor.Apply(text, out var applied, out var disguised);
            if (disguised)
            {
                return Blocked(e, destination, rules, "redact:" + applied, label, "a redaction pattern matches text disguised with look-alike or invisible characters");
            }

            if (html is not null && rules.Redactor.Matches(html))
            {
                html = null;
                applied ??= rules.Redactor.Redactions[0].Name;
            }

            if (applied is not null)
            {
                changedBy = Add(changedBy, "redact:" + applied);
            }
        }

        if (rules.NeutraliseMentions)
        {
            var neutral = MentionNeutraliser.Neutralise(text);
            var neutralHtml = html is null ? null : MentionNeutraliser.Neutralise(html);
            if (!ReferenceEquals(neutral, text) || !ReferenceEquals(neutralHtml, html))
            {
                text = neutral;
                html = neutralHtml;
                changedBy = Add(changedBy, "mentions");
            }
        }

        if (rules.MaxLength is { } max && text.Length > max)
        {
            if (rules.MaxLengthBlocks)
            {
                return Blocked(e, destination, rules, "max-length", label, $"the text is longer than {max}");
            }

            text = Truncate(text, max);
            html = null;
            changedBy = Add(changedBy, "max-length");
        }

        if (changedBy is not null && text.Length == 0 && attachments.Count == 0)
        {
            // Nothing left worth sending: say so rather than deliver an empty message.
            return Blocked(e, destination, rules, changedBy, label, "nothing is left after the content rules");
        }

        var marked = label is not null && text.Length > 0 ? WithMarker(text, rank, label) : text;
        var markedHtml = label is not null && html is { Length: > 0 } ? WithHtmlMarker(html, rank, label) : html;
        if (ReferenceEquals(marked, e.Text) && ReferenceEquals(markedHtml, e.Html) && ReferenceEquals(attachments, e.Attachments))
        {
            return Allowed(e, label);
        }

        var delivered = e with { Text = marked, Html = markedHtml, Attachments = attachments };
        if (changedBy is null)
        {
            // Only the visible label was added: that is how the label is carried, not a change to the content.
            return Allowed(delivered, label);
        }

        return new PolicyDecision
        {
            Verdict = PolicyVerdict.DeliverModified,
            Event = delivered,
            RuleId = changedBy,
            Label = label,
            SenderNotice = rules.Notices ? Notice(e, destination, changedBy, delivered: true) : null,
            Reason = "delivered with changes: " + changedBy,
        };
    }

    private string WithMarker(string text, int rank, string label)
    {
        var marker = MarkerParser.Parse(text, Labels);
        return marker.Kind == MarkerKind.Known && marker.Rank == rank ? text : $"[{label}] {text}";
    }

    private string WithHtmlMarker(string html, int rank, string label)
    {
        var marker = MarkerParser.Parse(MarkerParser.VisibleStartOfHtml(html), Labels);
        return marker.Kind == MarkerKind.Known && marker.Rank == rank ? html : $"[{WebUtility.HtmlEncode(label)}] {html}";
    }

    private static string Truncate(string text, int max)
    {
        if (max <= 1)
        {
            return max == 1 ? "…" : "";
        }

        var cut = max - 1;
        if (char.IsHighSurrogate(text[cut - 1]))
        {
            cut--; // never split a surrogate pair
        }

        return string.Concat(text.AsSpan(0, cut), "…");
    }

    private static string Add(string? rules, string rule) => rules is null ? rule : rules + "+" + rule;

    private static PolicyDecision Allowed(BridgeEvent e, string? label) =>
        new() { Verdict = PolicyVerdict.Deliver, Event = e, RuleId = "allow", Label = label, Reason = "allowed" };

    private static PolicyDecision Blocked(BridgeEvent e, NetworkDefinition destination, DestinationRules rules, string rule, string? label, string reason) => new()
    {
        Verdict = PolicyVerdict.Block,
        Event = e,
        RuleId = rule,
        Label = label,
        SenderNotice = rules.Notices && e.Kind != BridgeEventKind.Delete ? Notice(e, destination, rule, delivered: false) : null,
        Reason = reason,
    };

    /// <summary>What the sender is told: the destination network and the rule's public name, never the rule's content.</summary>
    private static string Notice(BridgeEvent e, NetworkDefinition destination, string rule, bool delivered)
    {
        var what = e.Kind switch
        {
            BridgeEventKind.Edit => "edit",
            BridgeEventKind.Reaction => "reaction",
            _ => "message",
        };
        return delivered
            ? $"Your {what} was shared with network '{destination.Id}' with changes (rule: {rule})."
            : $"Your {what} was not shared with network '{destination.Id}' (rule: {rule}).";
    }
}

/// <summary>The compiled rules of one link: per destination network, and for destinations it does not name.</summary>
internal sealed record LinkRules(FrozenDictionary<string, DestinationRules> Destinations, DestinationRules Default);
