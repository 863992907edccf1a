using Bridge.Core.Model;
using Bridge.Core.Policy.Content;
using Bridge.Core.Policy.Matching;

namespace Bridge.Core.Policy;

/// <summary>One layer's source allow and deny lists.</summary>
internal sealed class SourceFilter
{
    public required IdPatternList AllowNetworks { get; init; }
    public required IdPatternList AllowOrganisations { get; init; }
    public required IdPatternList AllowPeople { get; init; }
    public required IdPatternList DenyNetworks { get; init; }
    public required IdPatternList DenyOrganisations { get; init; }
    public required IdPatternList DenyPeople { get; init; }

    public bool IsEmpty =>
        AllowNetworks.IsEmpty && AllowOrganisations.IsEmpty && AllowPeople.IsEmpty &&
        DenyNetworks.IsEmpty && DenyOrganisations.IsEmpty && DenyPeople.IsEmpty;

    /// <summary>Null when the source passes, else the public rule name that stops it.</summary>
    public string? Check(PersonRef sender, string sourceNetwork, string? organisation)
    {
        if (DenyNetworks.Matches(sourceNetwork) || DenyOrganisations.Matches(organisation) || MatchesPerson(DenyPeople, sender))
        {
            return "source-deny";
        }

        if ((!AllowNetworks.IsEmpty && !AllowNetworks.Matches(sourceNetwork))
            || (!AllowOrganisations.IsEmpty && !AllowOrganisations.Matches(organisation))
            || (!AllowPeople.IsEmpty && !MatchesPerson(AllowPeople, sender)))
        {
            return "source-allow";
        }

        return null;
    }

    private static bool MatchesPerson(IdPatternList list, PersonRef sender) =>
        !list.IsEmpty && (list.Matches(sender.UserId) || (list.HasQualified && list.Matches(sender.Key)));
}

/// <summary>
/// The effective rules for one (link, destination network), merged from the defaults, link and destination layers at
/// compile time so that a decision does two dictionary look-ups and no merging.
/// </summary>
internal sealed class DestinationRules
{
    public static readonly DestinationRules AllowAll = new()
    {
        Filters = [],
        Redactor = new Redactor([]),
        NeutraliseMentions = true,
        Notices = true,
    };

    public bool Block { get; init; }
    public required SourceFilter[] Filters { get; init; }

    /// <summary>Rank of the destination's per-link clearance, when set; the lower of it and the network's applies.</summary>
    public int? ClearanceOverride { get; init; }

    public AttachmentFilter? Attachments { get; init; }
    public LinkFilter? Links { get; init; }
    public required Redactor Redactor { get; init; }
    public int? MaxLength { get; init; }
    public bool MaxLengthBlocks { get; init; }
    public bool NeutraliseMentions { get; init; }
    public bool Notices { get; init; }
}
