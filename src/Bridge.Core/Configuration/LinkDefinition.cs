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

    /// <summary>Where the link is defined: the configuration file (read-only at run time) or the admin API (kept in the store).</summary>
    public LinkSource Source { get; init; } = LinkSource.File;

    /// <summary>While true, messages of this link are accepted and queued but not delivered: they wait, in order, for a resume.</summary>
    public bool Paused { get; init; }
}

/// <summary>Where a link is defined.</summary>
public enum LinkSource
{
    /// <summary>The YAML file: declarative, changed by editing the file and restarting.</summary>
    File,

    /// <summary>The admin API: kept in the store, changed at run time.</summary>
    Api,

    /// <summary>
    /// A direct-message portal (<see cref="Direct.DirectPortal"/>): two endpoints, one person each side, made when a
    /// person starts a direct chat with a puppet; kept in the store and routed and policed like any link.
    /// </summary>
    Direct,
}
