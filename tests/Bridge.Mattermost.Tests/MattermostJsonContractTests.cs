using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Puppets;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// The Mattermost client's JSON is generated at build time (MmJsonContext, PuppetRecordJson) so that it needs no
/// reflection at run time (Native AOT). The request bodies are the Mattermost API's contract and puppet rows are kept
/// in the store: each is byte for byte what the reflection-based serializer wrote for the anonymous object or record
/// it replaces, with the options that call used.
/// </summary>
public sealed class MattermostJsonContractTests
{
    private static readonly JsonSerializerOptions OldMm = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        AllowDuplicateProperties = false,
    };

    /// <summary>What <c>JsonContent.Create(value)</c> without options used: the web defaults.</summary>
    private static readonly JsonSerializerOptions OldContent = new(JsonSerializerDefaults.Web);

    private static string New<T>(T body) => JsonSerializer.Serialize(body, MmJson.Info<T>());

    [Fact]
    public void Bodies_sent_with_the_clients_options_are_written_as_before()
    {
        const string name = "bridge-alice_“a”";
        var props = new JsonObject { ["bridge_person"] = "org-a:alice@a.example" };

        Assert.Equal(JsonSerializer.Serialize(new { username = name, email = "x-1@bridge.invalid", password = "p<&>w", first_name = "Alice ✓", last_name = "", nickname = "Alice ✓", props }, OldMm),
            New(new MmNewUser(name, "x-1@bridge.invalid", "p<&>w", "Alice ✓", "", "Alice ✓", props.DeepClone().AsObject())));
        Assert.Equal(JsonSerializer.Serialize(new { first_name = "Bob", last_name = "", nickname = "Bob" }, OldMm), New(new MmUserPatch("Bob", "", "Bob")));
        Assert.Equal(JsonSerializer.Serialize(new { description = "bridge puppet" }, OldMm), New(new MmTokenRequest("bridge puppet")));
        Assert.Equal(JsonSerializer.Serialize(new { username = "relay", display_name = "Relay", description = "Bridge relay" }, OldMm), New(new MmNewBot("relay", "Relay", "Bridge relay")));
        Assert.Equal(JsonSerializer.Serialize(new[] { "u1", "u2" }, OldMm), New(new[] { "u1", "u2" }));
        var post = new JsonObject { ["channel_id"] = "c", ["message"] = "hi <b>", ["props"] = new JsonObject { ["x"] = null } };
        Assert.Equal(JsonSerializer.Serialize(post, OldMm), New(post));
    }

    [Fact]
    public void Bodies_sent_with_the_default_content_options_are_written_as_before()
    {
        Assert.Equal(JsonSerializer.Serialize(new { channel_id = "c1", parent_id = "" }, OldContent), New(new MmTyping("c1", "")));
        Assert.Equal(JsonSerializer.Serialize(new { team_id = "t1", user_id = "u1" }, OldContent), New(new MmTeamMember("t1", "u1")));
        Assert.Equal(JsonSerializer.Serialize(new { user_id = "u1" }, OldContent), New(new MmChannelMember("u1")));
        Assert.Equal(JsonSerializer.Serialize(new { user_id = "u1", post_id = "p1", emoji_name = "+1" }, OldContent), New(new MmReactionRequest("u1", "p1", "+1")));
        Assert.Equal(JsonSerializer.Serialize(new { user_id = "u1", post = new { channel_id = "c1", message = "only «you» & me" } }, OldContent),
            New(new MmEphemeralPost("u1", new MmEphemeralMessage("c1", "only «you» & me"))));
    }

    [Fact]
    public async Task A_request_body_goes_out_as_JSON_with_the_same_content_type()
    {
        using var old = JsonContent.Create(new { user_id = "u1" });
        using var now = JsonContent.Create(new MmChannelMember("u1"), MmJson.Info<MmChannelMember>());

        Assert.Equal(old.Headers.ContentType, now.Headers.ContentType);
        Assert.Equal(await old.ReadAsStringAsync(), await now.ReadAsStringAsync());
    }

    [Fact]
    public void A_puppet_row_is_written_and_read_as_before()
    {
        var full = new PuppetRecord("u1", "bridge-alice", "enc:v1:abc", "Alice “A”", "mxc://a/b", true, "sha<1>");
        var bare = new PuppetRecord("u2", "bridge-bob", null, "Bob");

        Assert.Equal(JsonSerializer.Serialize(full), JsonSerializer.Serialize(full, PuppetRecordJson.Default.PuppetRecord));
        Assert.Equal(JsonSerializer.Serialize(bare), JsonSerializer.Serialize(bare, PuppetRecordJson.Default.PuppetRecord));
        Assert.Equal(full, JsonSerializer.Deserialize(JsonSerializer.Serialize(full), PuppetRecordJson.Default.PuppetRecord));
        // A row of an older version, before avatars and guests.
        Assert.Equal(bare with { Token = "t" }, JsonSerializer.Deserialize("""{"UserId":"u2","Username":"bridge-bob","Token":"t","DisplayName":"Bob"}""", PuppetRecordJson.Default.PuppetRecord));
    }

    [Fact]
    public void Every_model_the_client_reads_is_in_the_context_and_a_repeated_key_is_malformed()
    {
        Assert.Equal("u1", MmJson.Read<MmUser>("""{"id":"u1","first_name":"A","props":{"k":"v"}}""")!.Id);
        Assert.NotNull(MmJson.Read<MmPostList>("""{"order":["p"],"posts":{"p":{"id":"p","metadata":{"files":[{"id":"f"}],"reactions":[{"emoji_name":"x"}]}}}}"""));
        Assert.NotNull(MmJson.Read<Dictionary<string, string>>("""{"ShowFullName":"true"}"""));
        const string json = """{"id":"t"}""";
        Assert.NotNull(MmJson.Read<MmTeam>(json));
        Assert.NotNull(MmJson.Read<MmChannel>(json));
        Assert.NotNull(MmJson.Read<MmAccessToken>(json));
        Assert.NotNull(MmJson.Read<MmBot>(json));
        Assert.NotNull(MmJson.Read<MmAppError>(json));
        Assert.NotNull(MmJson.Read<MmFileInfo>(json));
        Assert.NotNull(MmJson.Read<MmReaction>(json));
        Assert.NotNull(MmJson.Read<JsonObject>(json));

        Assert.Throws<JsonException>(() => MmJson.Read<MmPost>("""{"id":"p","id":"q"}"""));
        Assert.Throws<JsonException>(() => MmJson.Read<MmPost>("""{"id":"p","props":{"a":"1","a":"2"}}"""));
    }
}
