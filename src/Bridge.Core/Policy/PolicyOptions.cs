namespace Bridge.Core.Policy;

/// <summary>
/// The shape of the <c>policy:</c> configuration section (YAML, JSON, environment: any IConfiguration source).
/// Read by <see cref="PolicyOptionsReader"/>, which names the full key of every problem, then compiled by
/// <see cref="PolicyCompiler"/>. See docs/policy.md for the meaning of each field and worked examples.
/// </summary>
/// <remarks>
/// Rules stack in three layers: <see cref="Defaults"/> (every link), <c>links:ID</c> and
/// <c>links:ID:destinations:NETWORK</c>. Source allow/deny lists of all layers must all pass; redaction patterns add
/// up; the other content settings are taken from the most specific layer that sets them; a destination clearance can
/// only lower the network's clearance.
/// </remarks>
public sealed class PolicyOptions
{
    /// <summary>Classification labels, lowest first. Empty: no classification checks.</summary>
    public List<string> Labels { get; set; } = [];

    /// <summary>Tell senders when something they sent was blocked or changed (rule name only). Default on.</summary>
    public bool Notices { get; set; } = true;

    /// <summary>
    /// What a sender is told when an information barrier stops their event: <c>none</c> (default: nothing, since any
    /// notice would tell them the other side is there) or <c>generic</c> (a sentence that names no network, organisation or person).
    /// </summary>
    public string BarrierNotice { get; set; } = "none";

    /// <summary>Seconds during which a person gets at most one notice, however many of their events are blocked. Default 60.</summary>
    public int NoticeWindow { get; set; } = 60;

    /// <summary>Per network id: clearance and default label, overriding the network's own definition.</summary>
    public Dictionary<string, NetworkPolicyOptions> Networks { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Pairs of organisations that must never see each other, in either direction.</summary>
    public List<List<string>> Barriers { get; set; } = [];

    /// <summary>Rules applied to every link.</summary>
    public RuleSetOptions Defaults { get; set; } = new();

    /// <summary>Per link id.</summary>
    public Dictionary<string, LinkPolicyOptions> Links { get; set; } = new(StringComparer.Ordinal);
}

public sealed class NetworkPolicyOptions
{
    /// <summary>Highest label the network may receive.</summary>
    public string? Clearance { get; set; }

    /// <summary>Label of events from this network that carry none.</summary>
    public string? DefaultLabel { get; set; }
}

/// <summary>Rules one layer adds.</summary>
public class RuleSetOptions
{
    /// <summary>Overrides <see cref="PolicyOptions.Notices"/> for this layer.</summary>
    public bool? Notices { get; set; }

    public SourceRulesOptions Sources { get; set; } = new();

    public ContentRulesOptions Content { get; set; } = new();
}

public sealed class LinkPolicyOptions : RuleSetOptions
{
    /// <summary>Per destination network id.</summary>
    public Dictionary<string, DestinationPolicyOptions> Destinations { get; set; } = new(StringComparer.Ordinal);
}

public sealed class DestinationPolicyOptions : RuleSetOptions
{
    /// <summary>Clearance of this destination on this link; can only lower the network's clearance.</summary>
    public string? Clearance { get; set; }

    /// <summary>Never deliver anything from this link to this destination (a one-way link).</summary>
    public bool Block { get; set; }
}

public sealed class SourceRulesOptions
{
    /// <summary>When a list is non-empty, the source must match it.</summary>
    public IdListsOptions Allow { get; set; } = new();

    /// <summary>A source matching any entry is blocked.</summary>
    public IdListsOptions Deny { get; set; } = new();
}

/// <summary>Entries are exact ids, globs (<c>*</c>, <c>?</c>) or <c>re:REGEX</c>; case is ignored.</summary>
public sealed class IdListsOptions
{
    public List<string> Networks { get; set; } = [];
    public List<string> Organisations { get; set; } = [];

    /// <summary>Person ids as the source network knows them, or <c>network/user</c>.</summary>
    public List<string> People { get; set; } = [];
}

public sealed class ContentRulesOptions
{
    public AttachmentRulesOptions? Attachments { get; set; }
    public LinkRulesOptions? Links { get; set; }
    public List<RedactionOptions> Redact { get; set; } = [];

    /// <summary>Longest text delivered, in UTF-16 code units.</summary>
    public int? MaxLength { get; set; }

    /// <summary><c>truncate</c> (default) or <c>block</c>.</summary>
    public string? MaxLengthAction { get; set; }

    /// <summary>Neutralise @all/@channel/@here/@room/@everyone from other networks. Default on.</summary>
    public bool? NeutraliseMentions { get; set; }
}

public sealed class AttachmentRulesOptions
{
    /// <summary>False: no attachment crosses.</summary>
    public bool Allowed { get; set; } = true;

    /// <summary>Content types allowed (globs such as <c>image/*</c>); empty: any.</summary>
    public List<string> Types { get; set; } = [];

    public long? MaxBytes { get; set; }

    /// <summary><c>strip</c> (default: deliver the message without it) or <c>block</c> (the whole message).</summary>
    public string Action { get; set; } = "strip";
}

public sealed class LinkRulesOptions
{
    /// <summary>
    /// False: no link crosses at all. (Configuration cannot tell an empty <c>allowedDomains: []</c> from a missing one,
    /// so "no links" is said with this flag.)
    /// </summary>
    public bool Allowed { get; set; } = true;

    /// <summary>Hosts links may point to: <c>example.org</c> (exactly) or <c>*.example.org</c> (any subdomain). Empty: none.</summary>
    public List<string> AllowedDomains { get; set; } = [];

    /// <summary><c>replace</c> (default), <c>remove</c> or <c>block</c>.</summary>
    public string Action { get; set; } = "replace";

    public string Replacement { get; set; } = "[link removed]";
}

public sealed class RedactionOptions
{
    /// <summary>Public name, shown to senders and in the audit trail.</summary>
    public string Name { get; set; } = "";

    public string Pattern { get; set; } = "";

    public string Replacement { get; set; } = "[REDACTED]";
}
