using System.Collections.Frozen;
using System.Net;
using System.Runtime.CompilerServices;
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
public sealed partial class CompiledPolicy : ISharingPolicy, INoticeSettingsSource
{
    private readonly FrozenDictionary<string, NetworkLabels> _networks;
    private readonly FrozenDictionary<string, FrozenSet<string>> _barriers;
    private readonly FrozenDictionary<string, LinkRules> _links;
    private readonly DestinationRules _defaults;
    private readonly ConditionalWeakTable<BridgeEvent, LabelledEvent> _labelled = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _picturesWithheld = new(StringComparer.Ordinal);

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

    /// <summary>How senders are told about decisions (barrier notices, the per-person window).</summary>
    public NoticeSettings NoticeSettings { get; init; } = NoticeSettings.Default;

    public PolicyDecision Decide(PolicyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var e = context.Event;

        // The label is worked out first so that every audit record carries it, whichever rule decides.
        if (!Labels.IsEnabled)
        {
            return DecideLabelled(context, null, null, 0);
        }

        var labelled = Labelled(e, context.SourceNetwork).Decision;
        return DecideLabelled(context, Labels.Names[labelled.Rank], labelled.Rule, labelled.Rank);
    }

    private PolicyDecision DecideLabelled(PolicyContext context, string? label, string? labelRule, int rank)
    {
        var e = context.Event;
        var destination = context.DestinationNetwork;
        var rules = RulesFor(context.Link.Id, destination.Id);
        if ((e.Sender.Avatar is not null || e.Sender.AvatarUrl is not null) && PicturesWithheldFrom(destination.Id))
        {
            // Avatars are pictures: a destination whose files are restricted in any way gets none (fail closed), whatever
            // the kind of event that carries the person (a reaction or a retraction may make their puppet too). A puppet
            // is one per network, seen in every channel of it, so one link's file rule toward the network withholds
            // pictures on all of them; and a picture set before the rule is taken off (said as removed).
            e = e with { Sender = e.Sender with { Avatar = null, AvatarUrl = null, AvatarRemoved = true } };
        }

        var organisation = string.IsNullOrEmpty(e.Sender.Organisation) ? context.SourceNetwork.Organisation : e.Sender.Organisation;
        if (IsBarred(organisation, destination.Organisation) || IsBarred(context.SourceNetwork.Organisation, destination.Organisation))
        {
            return Blocked(e, destination, rules, "barrier", label, labelRule, "an information barrier separates the organisations");
        }

        if (rules.Block)
        {
            return Blocked(e, destination, rules, "destination-block", label, labelRule, "the link does not deliver to this destination");
        }

        foreach (var filter in rules.Filters)
        {
            if (filter.Check(e.Sender, e.NetworkId, organisation) is { } rule)
            {
                return Blocked(e, destination, rules, rule, label, labelRule, rule == "source-deny" ? "the source is on a deny list" : "the source is not on an allow list");
            }
        }

        if (label is not null)
        {
            var clearance = ClearanceOf(destination, rules);
            if (rank > clearance)
            {
                return Blocked(e, destination, rules, "clearance", label, labelRule, $"label {label} is above the destination's clearance {Labels.Names[clearance]}");
            }
        }

        if (e.Kind is BridgeEventKind.Message or BridgeEventKind.Edit)
        {
            return ApplyContent(e, context.SourceNetwork, destination, rules, label, labelRule, rank);
        }

        // A removal is decided like the reaction it takes back, so a key kept out of a destination is never named there.
        return e.Kind is BridgeEventKind.Reaction or BridgeEventKind.ReactionRemoved && e.ReactionKey is { Length: > 0 } key && ReactionRule(key, rules) is { } reactionRule
            ? Blocked(e, destination, rules, reactionRule, label, labelRule, "the reaction's key breaks a content rule")
            : Allowed(e, label, labelRule);
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

    /// <summary>
    /// The classification of an event by the classification standard (<see cref="LabelClassifier"/>): its structured
    /// labels (R-S1; every entry a connector passed, empty ones included), the markers of every part a reader sees
    /// (text and HTML; a reaction's key, R-K4; file names pooled with the caption, R-K5), else the source's default.
    /// Edits are classified from scratch (R-K2) and replies carry only their author's text (R-K3): both are plain
    /// events here. The sender's display name is never read (R-K6).
    /// </summary>
    internal LabelDecision LabelOf(BridgeEvent e, NetworkDefinition source)
    {
        // An event is decided once per destination; its label does not depend on the destination, so it is read once.
        return Labelled(e, source).Decision;
    }

    private LabelledEvent Labelled(BridgeEvent e, NetworkDefinition source)
    {
        if (_labelled.TryGetValue(e, out var known) && known.Source == source.Id)
        {
            return known;
        }

        var decision = ClassifyEvent(e, source);
        var labelled = new LabelledEvent(source.Id, decision,
            e.Text.Length > 0 && Labels.Classifier.ShowsStrongly(e.Text, isHtml: false, decision.Rank),
            e.Html is { Length: > 0 } html && Labels.Classifier.ShowsStrongly(html, isHtml: true, decision.Rank));
        _labelled.AddOrUpdate(e, labelled);
        return labelled;
    }

    private LabelDecision ClassifyEvent(BridgeEvent e, NetworkDefinition source)
    {
        var defaultLabel = _networks.TryGetValue(source.Id, out var n) && n.DefaultLabel is not null ? n.DefaultLabel : source.DefaultLabel;
        // A default that names no known label is treated like a malformed label: the highest.
        var defaultRank = defaultLabel is null ? Labels.Lowest : Labels.RankCarried(defaultLabel);

        var texts = new List<string?>(2 + e.Attachments.Count) { e.Text };
        if (e.Kind is BridgeEventKind.Reaction or BridgeEventKind.ReactionRemoved)
        {
            texts.Add(e.ReactionKey);
        }

        for (var i = 0; i < e.Attachments.Count; i++)
        {
            texts.Add(e.Attachments[i].Name);
        }

        return Labels.Classifier.Classify(e.StructuredLabels, texts, [e.Html], defaultRank);
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

    /// <summary>
    /// Whether any rule set that can apply toward <paramref name="destinationNetwork"/> (the defaults, or any link's,
    /// for that destination or by default) restricts files: puppets there then show no pictures. It may withhold more
    /// than a link-by-link reading would (a link's rule counts even if that link never reaches the network): fail closed.
    /// </summary>
    internal bool PicturesWithheldFrom(string destinationNetwork) =>
        _picturesWithheld.TryGetValue(destinationNetwork, out var withheld)
            ? withheld
            : _picturesWithheld.GetOrAdd(destinationNetwork, static (d, self) =>
                self._defaults.Attachments is not null
                || self._links.Values.Any(l => (l.Destinations.TryGetValue(d, out var rules) ? rules : l.Default).Attachments is not null), this);

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

    private PolicyDecision ApplyContent(BridgeEvent e, NetworkDefinition source, NetworkDefinition destination, DestinationRules rules, string? label, string? labelRule, int rank)
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
                    return Blocked(e, destination, rules, "attachments", label, labelRule, "an attachment is not allowed");
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
                    return Blocked(e, destination, rules, "links", label, labelRule, "a link points to a host that is not allowed");
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
                return Blocked(e, destination, rules, "redact:" + applied, label, labelRule, "a redaction pattern matches text disguised with look-alike or invisible characters");
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
                return Blocked(e, destination, rules, "max-length", label, labelRule, $"the text is longer than {max}");
            }

            text = Truncate(text, max);
            html = null;
            changedBy = Add(changedBy, "max-length");
        }

        if (changedBy is not null && text.Length == 0 && attachments.Count == 0)
        {
            // Nothing left worth sending: say so rather than deliver an empty message.
            return Blocked(e, destination, rules, changedBy, label, labelRule, "nothing is left after the content rules");
        }

        var shown = label is null ? null : Labelled(e, source);
        var marked = label is not null && text.Length > 0 ? WithMarker(text, rank, label, ReferenceEquals(text, e.Text) ? shown!.TextShowsLabel : null) : text;
        var markedHtml = label is not null && html is { Length: > 0 } ? WithHtmlMarker(html, rank, label, ReferenceEquals(html, e.Html) ? shown!.HtmlShowsLabel : null) : html;
        if (ReferenceEquals(marked, e.Text) && ReferenceEquals(markedHtml, e.Html) && ReferenceEquals(attachments, e.Attachments))
        {
            return Allowed(e, label, labelRule);
        }

        var delivered = e with { Text = marked, Html = markedHtml, Attachments = attachments };
        if (changedBy is null)
        {
            // Only the visible label was added: that is how the label is carried, not a change to the content.
            return Allowed(delivered, label, labelRule);
        }

        return new PolicyDecision
        {
            Verdict = PolicyVerdict.DeliverModified,
            Event = delivered,
            RuleId = changedBy,
            Label = label,
            LabelRule = labelRule,
            SenderNotice = rules.Notices ? Notice(e, destination, changedBy, delivered: true) : null,
            Reason = "delivered with changes: " + changedBy,
        };
    }

    /// <summary>
    /// The visible label added on delivery, unless a strong marker of exactly this label already starts the text; either
    /// way the delivered text, read again by the classifier, gives the same label on any network (no default applies
    /// when a strong marker is present, and every other marker of the text is at most this label).
    /// </summary>
    private string WithMarker(string text, int rank, string label, bool? known) =>
        known ?? Labels.Classifier.ShowsStrongly(text, isHtml: false, rank) ? text : $"[{label}] {text}";

    private string WithHtmlMarker(string html, int rank, string label, bool? known) =>
        known ?? Labels.Classifier.ShowsStrongly(html, isHtml: true, rank) ? html : $"[{WebUtility.HtmlEncode(label)}] {html}";

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

    private static PolicyDecision Allowed(BridgeEvent e, string? label, string? labelRule) =>
        new() { Verdict = PolicyVerdict.Deliver, Event = e, RuleId = "allow", Label = label, LabelRule = labelRule, Reason = "allowed" };

    private PolicyDecision Blocked(BridgeEvent e, NetworkDefinition destination, DestinationRules rules, string rule, string? label, string? labelRule, string reason) => new()
    {
        Verdict = PolicyVerdict.Block,
        Event = e,
        RuleId = rule,
        Label = label,
        LabelRule = labelRule,
        SenderNotice = rules.Notices && e.Kind is not (BridgeEventKind.Delete or BridgeEventKind.ReactionRemoved) ? BlockedNotice(e, destination, rule) : null,
        Reason = reason,
    };

    /// <summary>
    /// What the sender of a blocked event is told. Across a barrier: nothing by default, since naming the network (or
    /// even saying that something was withheld) tells the sender that the other side is in the channel; an operator may
    /// opt into one generic sentence that names no one.
    /// </summary>
    private string? BlockedNotice(BridgeEvent e, NetworkDefinition destination, string rule)
    {
        if (rule != "barrier")
        {
            return Notice(e, destination, rule, delivered: false);
        }

        return NoticeSettings.BarrierNotice == BarrierNoticeMode.Generic ? GenericNotice(e) : null;
    }

    /// <summary>The opt-in barrier notice: the same sentence whoever is behind the barrier, naming no network, organisation or person.</summary>
    internal static string GenericNotice(BridgeEvent e) => $"Your {WhatOf(e)} was not shared with every participant.";

    private static string WhatOf(BridgeEvent e) => e.Kind switch
    {
        BridgeEventKind.Edit => "edit",
        BridgeEventKind.Reaction => "reaction",
        BridgeEventKind.ReactionRemoved => "reaction removal",
        _ => "message",
    };

    /// <summary>
    /// What the sender is told: the destination network and the rule's public name, never the rule's content. Only
    /// ever called for a destination the sender is not barred from (the barrier is checked first and has its own notice).
    /// </summary>
    private static string Notice(BridgeEvent e, NetworkDefinition destination, string rule, bool delivered)
    {
        var what = WhatOf(e);
        return delivered
            ? $"Your {what} was shared with network '{destination.Id}' with changes (rule: {rule})."
            : $"Your {what} was not shared with network '{destination.Id}' (rule: {rule}).";
    }
}

/// <summary>An event's label as last read, with the source network it was read for.</summary>
internal sealed record LabelledEvent(string Source, LabelDecision Decision, bool TextShowsLabel, bool HtmlShowsLabel);

/// <summary>The compiled rules of one link: per destination network, and for destinations it does not name.</summary>
internal sealed record LinkRules(FrozenDictionary<string, DestinationRules> Destinations, DestinationRules Default);
