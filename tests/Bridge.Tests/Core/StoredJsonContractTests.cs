using System.Text.Json;
using System.Text.Json.Serialization;
using Bridge.Core.Direct;
using Bridge.Core.Links;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Core.Profiles;
using Bridge.Core.Reactions;
using Bridge.Core.Storage;

namespace Bridge.Tests.Core;

/// <summary>
/// The JSON the stores keep (outbox events, reaction keys, link specs, direct portals) is written by contexts generated at
/// build time, so that it needs no reflection at run time (trimming, Native AOT). Rows written before are read the same:
/// each form is exactly what the reflection-based serializer wrote with the options these types used before.
/// </summary>
public sealed class StoredJsonContractTests
{
    private static readonly PersonRef Alice = new()
    {
        NetworkId = "org-a", UserId = "alice@a.example", DisplayName = "Alice “A” ✓", Organisation = "org", AvatarUrl = null,
        Avatar = new AvatarRef(new MediaSource("org-a", "ref/1"), "v1"), AvatarRemoved = true, Handle = "alice",
    };

    private static readonly BridgeEvent Full = new()
    {
        NetworkId = "org-a", ChannelId = "room@muc.a", NativeId = "id-1", Kind = BridgeEventKind.ReactionRemoved, MessageKind = MessageKind.Emote,
        Sender = Alice, Text = "hi <b> & \"quoted\" 👍", Html = "<b>hi</b>", TextFormat = TextFormat.Plain, TargetNativeId = "t", ReplyToNativeId = null,
        ThreadRootNativeId = "root", Mentions = [new Mention { Person = Alice, Written = "@alice" }], ReactionKey = "👍",
        Timestamp = new DateTimeOffset(2026, 12, 7, 11, 0, 0, 123, TimeSpan.FromHours(1)), StructuredLabels = ["secret"],
        Attachments = [new Attachment { Name = "a.png", ContentType = "image/png", Size = 12, Source = new MediaSource("org-a", "f"), Width = 3, Height = null }],
    };

    private static readonly JsonSerializerOptions OldEventOptions = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    [Fact]
    public void An_event_is_written_as_the_reflection_serializer_wrote_it_and_read_back_whole()
    {
        var json = EventJson.Serialize(Full);

        Assert.Equal(JsonSerializer.Serialize(Full, OldEventOptions), json);
        Assert.Contains("\"kind\":\"ReactionRemoved\"", json, StringComparison.Ordinal);
        var back = EventJson.Deserialize(json);
        Assert.Equal(json, EventJson.Serialize(back));
        Assert.Equal(Full.Sender, back.Sender);
        Assert.Equal(Full.Timestamp, back.Timestamp);
    }

    [Fact]
    public void An_event_row_of_the_old_form_is_read_as_before_numbers_as_enums_included()
    {
        var old = JsonSerializer.Serialize(Full with { Kind = BridgeEventKind.Edit }, OldEventOptions).Replace("\"messageKind\":\"Emote\"", "\"messageKind\":1", StringComparison.Ordinal);

        var read = EventJson.Deserialize(old);

        Assert.Equal(BridgeEventKind.Edit, read.Kind);
        Assert.Equal(MessageKind.Emote, read.MessageKind);
        Assert.Equal(JsonSerializer.Deserialize<BridgeEvent>(old, OldEventOptions)!.Text, read.Text);
        Assert.Throws<JsonException>(() => EventJson.Deserialize("""{"networkId":"a"}""")); // required members still required
    }

    [Fact]
    public void Link_specs_portals_and_reaction_keys_are_written_as_before()
    {
        var spec = new LinkSpec { Endpoints = [new EndpointSpec { Network = "a", Channel = "c", Language = null }], Translation = null, Paused = true };
        var portal = new DirectPortal
        {
            Id = "dm-1", CreatedAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
            First = new DirectParty { NetworkId = "a", UserId = "u", ChannelId = "c", DisplayName = "Ü" },
            Second = new DirectParty { NetworkId = "b", UserId = "v", ChannelId = "d" },
        };
        var keys = new Dictionary<string, string> { ["👍"] = "n1", ["+1"] = "n2", ["B"] = "n3" };

        Assert.Equal(JsonSerializer.Serialize(spec, new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull }), spec.ToJson());
        Assert.Equal(JsonSerializer.Serialize(portal, new JsonSerializerOptions(JsonSerializerDefaults.Web)), portal.ToJson());
        Assert.Equal(JsonSerializer.Serialize(new SortedDictionary<string, string>(keys, StringComparer.Ordinal)), ReactionKeysJson.Write(keys));
        Assert.Equal(spec.ToJson(), LinkSpec.FromJson(spec.ToJson()).ToJson());
        Assert.Equal(portal.ToJson(), DirectPortal.FromJson(portal.ToJson()).ToJson());
        Assert.Equal(keys.OrderBy(k => k.Key, StringComparer.Ordinal), ReactionKeysJson.Read(ReactionKeysJson.Write(keys)).OrderBy(k => k.Key, StringComparer.Ordinal));
    }
}
