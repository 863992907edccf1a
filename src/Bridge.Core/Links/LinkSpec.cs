using System.Text.Json;
using System.Text.Json.Serialization;
using Bridge.Core.Configuration;
using Bridge.Core.Model;

namespace Bridge.Core.Links;

/// <summary>An endpoint as the admin API and the store write it.</summary>
public sealed record EndpointSpec
{
    public string? Network { get; init; }
    public string? Channel { get; init; }
    public string? Language { get; init; }
}

/// <summary>A link made through the admin API, as stored (JSON in <c>api_links.definition</c>).</summary>
public sealed record LinkSpec
{
    public List<EndpointSpec> Endpoints { get; init; } = [];
    public string? Translation { get; init; }
    public bool Paused { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, LinkSpecJsonContext.Default.LinkSpec);

    public static LinkSpec FromJson(string json) => JsonSerializer.Deserialize(json, LinkSpecJsonContext.Default.LinkSpec) ?? throw new JsonException("empty link definition");

    public static LinkSpec Of(LinkDefinition link)
    {
        ArgumentNullException.ThrowIfNull(link);
        return new LinkSpec
        {
            Endpoints = [.. link.Endpoints.Select(e => new EndpointSpec { Network = e.NetworkId, Channel = e.ChannelId, Language = link.Languages.GetValueOrDefault(e) })],
            Translation = link.TranslationEngine,
            Paused = link.Paused,
        };
    }

    /// <summary>The definition in force for link <paramref name="id"/> (call only on a validated spec).</summary>
    public LinkDefinition ToDefinition(string id)
    {
        var endpoints = Endpoints.Select(e => new ChannelRef(e.Network!, e.Channel!)).ToList();
        return new LinkDefinition
        {
            Id = id,
            Endpoints = endpoints,
            Languages = Endpoints.Where(e => !string.IsNullOrEmpty(e.Language)).ToDictionary(e => new ChannelRef(e.Network!, e.Channel!), e => e.Language!),
            TranslationEngine = Translation,
            Source = LinkSource.Api,
            Paused = Paused,
        };
    }
}

/// <summary>The stored form's JSON contract (web defaults, nulls left out), generated at build time.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LinkSpec))]
internal sealed partial class LinkSpecJsonContext : JsonSerializerContext;

/// <summary>A change the admin API refused: the HTTP status it maps to, why, and the request field at fault.</summary>
public sealed class LinkChangeException(int status, string message, string? field = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Field { get; } = field;
}
