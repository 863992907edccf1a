using Bridge.Core.Model;

namespace Bridge.Core.Configuration;

/// <summary>A shared channel: rooms on several networks that behave as one conversation.</summary>
public sealed record LinkDefinition
{
    public required string Id { get; init; }
    public required IReadOnlyList<ChannelRef> Endpoints { get; init; }
}
