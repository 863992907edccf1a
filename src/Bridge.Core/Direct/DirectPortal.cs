using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Bridge.Core.Configuration;
using Bridge.Core.Model;

namespace Bridge.Core.Direct;

/// <summary>One side of a direct-message portal: the real person of that network and the channel they chat in there.</summary>
public sealed record DirectParty
{
    public required string NetworkId { get; init; }

    /// <summary>The person's own id on their network (a Matrix user id, a Mattermost user id, a bare JID).</summary>
    public required string UserId { get; init; }

    /// <summary>Where the chat is on that network (a Matrix room id, a Mattermost DM channel id, the person's bare JID).</summary>
    public required string ChannelId { get; init; }

    public string DisplayName { get; init; } = "";

    public ChannelRef Channel => new(NetworkId, ChannelId);

    public string PersonKey => $"{NetworkId}/{UserId}";

    public PersonRef ToPerson() => new() { NetworkId = NetworkId, UserId = UserId, DisplayName = DisplayName.Length > 0 ? DisplayName : UserId };
}

/// <summary>
/// A direct chat between two people of two networks, each seeing the other's puppet. In force it is a link of kind
/// <see cref="LinkSource.Direct"/> with the two channels as endpoints, so routing, the sharing policy (labels, barriers,
/// content rules), the outbox and the audit trail treat it exactly as any link. One portal per pair of people: its id
/// is derived from the two person keys, so opening it again from either side finds the same portal.
/// </summary>
public sealed record DirectPortal
{
    public required string Id { get; init; }
    public required DirectParty First { get; init; }
    public required DirectParty Second { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The portal id of two people, the same whichever side opened it.</summary>
    public static string IdFor(string personKeyA, string personKeyB)
    {
        var (a, b) = string.CompareOrdinal(personKeyA, personKeyB) <= 0 ? (personKeyA, personKeyB) : (personKeyB, personKeyA);
        return "dm-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(a + "\n" + b)))[..20];
    }

    public IEnumerable<DirectParty> Parties => [First, Second];

    /// <summary>The party whose channel is <paramref name="channel"/>, or null.</summary>
    public DirectParty? At(ChannelRef channel) => First.Channel == channel ? First : Second.Channel == channel ? Second : null;

    /// <summary>The party on <paramref name="networkId"/>, or null.</summary>
    public DirectParty? On(string networkId) => First.NetworkId == networkId ? First : Second.NetworkId == networkId ? Second : null;

    public DirectParty Other(DirectParty party) => party == First ? Second : First;

    public LinkDefinition ToLink() => new()
    {
        Id = Id,
        Endpoints = [First.Channel, Second.Channel],
        Source = LinkSource.Direct,
    };

    public string ToJson() => JsonSerializer.Serialize(this, DirectPortalJsonContext.Default.DirectPortal);

    public static DirectPortal FromJson(string json)
    {
        var portal = JsonSerializer.Deserialize(json, DirectPortalJsonContext.Default.DirectPortal) ?? throw new JsonException("empty direct portal");
        if (portal.Id is null || portal.First is null || portal.Second is null
            || portal.First.NetworkId is null || portal.First.UserId is null || portal.First.ChannelId is null
            || portal.Second.NetworkId is null || portal.Second.UserId is null || portal.Second.ChannelId is null)
        {
            throw new JsonException("a direct portal row has a missing field");
        }

        if (portal.Id.Length == 0 || portal.First.NetworkId == portal.Second.NetworkId || portal.First.ChannelId.Length == 0 || portal.Second.ChannelId.Length == 0)
        {
            throw new JsonException("a direct portal needs an id and two channels on two networks");
        }

        return portal with
        {
            First = portal.First with { DisplayName = portal.First.DisplayName ?? "" },
            Second = portal.Second with { DisplayName = portal.Second.DisplayName ?? "" },
        };
    }
}

/// <summary>The stored portal's JSON contract (web defaults), generated at build time.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DirectPortal))]
internal sealed partial class DirectPortalJsonContext : JsonSerializerContext;
