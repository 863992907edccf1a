using Bridge.Core.Model;

namespace Bridge.Core.Configuration;

/// <summary>A shared channel: rooms on several networks that behave as one conversation.</summary>
public sealed record LinkDefinition
{
    public required string Id { get; init; }
    public required IReadOnlyList<ChannelRef> Endpoints { get; init; }

    /// <summary>The language each endpoint reads and writes (<c>language:</c> on the endpoint), where configured.</summary>
    public IReadOnlyDictionary<ChannelRef, string> Languages { get; init; } = new Dictionary<ChannelRef, string>();

    /// <summary>The translation engine this link uses (<c>translation:</c> on the link); null: the default engine.</summary>
    public string? TranslationEngine { get; init; }
}
