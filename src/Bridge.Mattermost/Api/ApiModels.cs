using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Bridge.Mattermost.Api;

internal static class MmJson
{
    /// <summary>The options of <see cref="MmJsonContext"/>: every type read or written here is generated at build time.</summary>
    public static JsonSerializerOptions Options => MmJsonContext.Default.Options;

    /// <summary>
    /// How <typeparamref name="T"/> is read and written. Only the context's types exist: one left out of it is a
    /// NotSupportedException in every build (tests included), never a reflection-based fallback that Native AOT lacks.
    /// </summary>
    public static JsonTypeInfo<T> Info<T>() => InfoOf<T>.Value;

    /// <summary>Each type's info looked up once (every request, response and WebSocket event asks for it).</summary>
    private static class InfoOf<T>
    {
        public static readonly JsonTypeInfo<T> Value = (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));
    }

    /// <summary>
    /// Deserialises a body; every malformation is a <see cref="JsonException"/> (a duplicate key in a props object
    /// otherwise throws ArgumentException, a lone surrogate escape InvalidOperationException).
    /// </summary>
    public static T? Read<T>(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, Info<T>());
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw Malformed(e);
        }
    }

    /// <summary>Reads an HTTP answer's body like <see cref="Read{T}(string)"/>: every malformation is a <see cref="JsonException"/>.</summary>
    public static async Task<T?> ReadAsync<T>(HttpContent content, CancellationToken ct)
    {
        try
        {
            return await content.ReadFromJsonAsync(Info<T>(), ct);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException and not ObjectDisposedException)
        {
            // AllowDuplicateProperties does not reach JsonObject members (props): their converter adds to a dictionary
            // and throws ArgumentException on a repeated key, which escaped the client (found by the fuzzer).
            throw Malformed(e);
        }
    }

    /// <summary>Reads a part of an already parsed body (a JsonObject's lazily built members throw ArgumentException on a repeated key).</summary>
    public static T Guard<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw Malformed(e);
        }
    }

    private static JsonException Malformed(Exception e) => new("malformed Mattermost JSON: " + e.Message, e);
}

/// <summary>
/// The Mattermost API's JSON, generated at build time (no reflection at run time: trimming, Native AOT): web defaults,
/// snake_case names, nulls left out, a repeated key refused when the body is read (never resolved as first-wins or
/// last-wins: two "classification" props are a malformed post, not a choice), as the reflection-based options had it.
/// The request bodies are written byte for byte as the anonymous objects they replace were (MattermostJsonContractTests).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, AllowDuplicateProperties = false)]
[JsonSerializable(typeof(MmUser))]
[JsonSerializable(typeof(MmTeam))]
[JsonSerializable(typeof(MmChannel))]
[JsonSerializable(typeof(MmPost))]
[JsonSerializable(typeof(MmPostList))]
[JsonSerializable(typeof(MmReaction))]
[JsonSerializable(typeof(MmFileInfo))]
[JsonSerializable(typeof(MmAccessToken))]
[JsonSerializable(typeof(MmBot))]
[JsonSerializable(typeof(MmAppError))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(MmNewUser))]
[JsonSerializable(typeof(MmUserPatch))]
[JsonSerializable(typeof(MmTokenRequest))]
[JsonSerializable(typeof(MmNewBot))]
[JsonSerializable(typeof(MmTyping))]
[JsonSerializable(typeof(MmTeamMember))]
[JsonSerializable(typeof(MmChannelMember))]
[JsonSerializable(typeof(MmReactionRequest))]
[JsonSerializable(typeof(MmEphemeralPost))]
internal sealed partial class MmJsonContext : JsonSerializerContext;

// Every string, list and list element a model hands out is whole: a JSON null (which Mattermost never sends, but a
// proxy or a broken server may) reads as empty, never as a null the connector then dereferences. A post that threw
// there was retried by every catch-up, so one bad field stalled its channel for good.
internal sealed record MmUser
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Username { get; init => field = value ?? ""; } = "";
    public string Email { get; init => field = value ?? ""; } = "";
    public string FirstName { get; init => field = value ?? ""; } = "";
    public string LastName { get; init => field = value ?? ""; } = "";
    public string Nickname { get; init => field = value ?? ""; } = "";
    public string Roles { get; init => field = value ?? ""; } = "";
    public bool IsBot { get; init; }
    public long DeleteAt { get; init; }
    public JsonObject? Props { get; init; }

    /// <summary>When the person last set a picture (ms); 0, negative (a removal on current servers) or absent: the server's drawn default.</summary>
    public long LastPictureUpdate { get; init; }

    /// <summary>When the record last changed (ms): of two copies of one user, the later is the fresher.</summary>
    public long UpdateAt { get; init; }

    public bool IsSystemAdmin => Roles.Split(' ').Contains("system_admin");

    public string DisplayName
    {
        get
        {
            var full = $"{FirstName} {LastName}".Trim();
            return full.Length > 0 ? full : Nickname.Length > 0 ? Nickname : Username;
        }
    }

    /// <summary>
    /// The name the person's fellow members see: <see cref="DisplayName"/> where the server shows full names, else
    /// nickname or username (the server blanks first and last names for everyone but admins, such as the bridge).
    /// </summary>
    public string NameShownToMembers(bool fullNamesShown) =>
        fullNamesShown ? DisplayName : Nickname.Length > 0 ? Nickname : Username;
}

internal sealed record MmTeam
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Name { get; init => field = value ?? ""; } = "";
    public string DisplayName { get; init => field = value ?? ""; } = "";
}

internal sealed record MmChannel
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string TeamId { get; init => field = value ?? ""; } = "";
    public string Name { get; init => field = value ?? ""; } = "";
    public string DisplayName { get; init => field = value ?? ""; } = "";
    public string Type { get; init => field = value ?? ""; } = "";
}

internal sealed record MmPost
{
    public string Id { get; init => field = value ?? ""; } = "";
    public long CreateAt { get; init; }
    public long UpdateAt { get; init; }
    public long EditAt { get; init; }
    public long DeleteAt { get; init; }
    public string UserId { get; init => field = value ?? ""; } = "";
    public string ChannelId { get; init => field = value ?? ""; } = "";
    public string RootId { get; init => field = value ?? ""; } = "";
    public string Message { get; init => field = value ?? ""; } = "";
    public string Type { get; init => field = value ?? ""; } = "";
    public JsonObject? Props { get; init; }
    public IReadOnlyList<string>? FileIds { get; init => field = value?.Where(id => id is not null).ToList(); }
    public string PendingPostId { get; init => field = value ?? ""; } = "";
    public MmPostMetadata? Metadata { get; init; }

    public string? Prop(string name) => Props?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>
    /// A structured label prop as the core expects it (see <see cref="Bridge.Core.Model.StructuredLabel"/>): absent →
    /// none; a string (even empty) → itself; present but not a string (null, number, object) → NotAString. Fails closed.
    /// </summary>
    public IReadOnlyList<string> LabelProp(string name) =>
        Props is null || !Props.ContainsKey(name) ? []
        : Props[name] is JsonValue v && v.TryGetValue<string>(out var s) ? [s]
        : [Bridge.Core.Model.StructuredLabel.NotAString];
}

internal sealed record MmPostMetadata
{
    public IReadOnlyList<MmFileInfo>? Files { get; init => field = value?.Where(f => f is not null).ToList(); }
    public IReadOnlyList<MmReaction>? Reactions { get; init => field = value?.Where(r => r is not null).ToList(); }
}

internal sealed record MmPostList
{
    public IReadOnlyList<string> Order { get; init => field = value?.Where(id => id is not null).ToList() ?? []; } = [];
    public Dictionary<string, MmPost> Posts { get; init => field = value?.Where(p => p.Value is not null).ToDictionary() ?? []; } = [];
}

internal sealed record MmReaction
{
    public string UserId { get; init => field = value ?? ""; } = "";
    public string PostId { get; init => field = value ?? ""; } = "";
    public string EmojiName { get; init => field = value ?? ""; } = "";
    public long CreateAt { get; init; }
}

internal sealed record MmFileInfo
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Name { get; init => field = value ?? ""; } = "";
    public string MimeType { get; init => field = value ?? ""; } = "";
    public long Size { get; init; }

    /// <summary>Image dimensions (0 for other files).</summary>
    public int Width { get; init; }

    public int Height { get; init; }
}

internal sealed record MmAccessToken
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Token { get; init => field = value ?? ""; } = "";
    public string UserId { get; init => field = value ?? ""; } = "";
}

internal sealed record MmBot
{
    public string UserId { get; init => field = value ?? ""; } = "";
    public string Username { get; init => field = value ?? ""; } = "";
}

/// <summary>The AppError body; 429 has none (text/plain).</summary>
internal sealed record MmAppError
{
    public string Id { get; init => field = value ?? ""; } = "";
    public string Message { get; init => field = value ?? ""; } = "";
    public int StatusCode { get; init; }
}

// Request bodies. Their names are written snake_case by the context (FirstName → first_name), in declaration order.

/// <summary><c>POST /users</c>: a puppet account (its person's key in a prop, so it is found again after a lost store).</summary>
internal sealed record MmNewUser(string Username, string Email, string Password, string FirstName, string LastName, string Nickname, JsonObject Props);

/// <summary><c>PUT /users/{id}/patch</c>: a puppet's name.</summary>
internal sealed record MmUserPatch(string FirstName, string LastName, string Nickname);

/// <summary><c>POST /users/{id}/tokens</c>.</summary>
internal sealed record MmTokenRequest(string Description);

/// <summary><c>POST /bots</c>.</summary>
internal sealed record MmNewBot(string Username, string DisplayName, string Description);

/// <summary><c>POST /users/{id}/typing</c>.</summary>
internal sealed record MmTyping(string ChannelId, string ParentId);

/// <summary><c>POST /teams/{id}/members</c>.</summary>
internal sealed record MmTeamMember(string TeamId, string UserId);

/// <summary><c>POST /channels/{id}/members</c>.</summary>
internal sealed record MmChannelMember(string UserId);

/// <summary><c>POST /reactions</c>.</summary>
internal sealed record MmReactionRequest(string UserId, string PostId, string EmojiName);

/// <summary><c>POST /posts/ephemeral</c>: the post only <see cref="UserId"/> sees.</summary>
internal sealed record MmEphemeralPost(string UserId, MmEphemeralMessage Post);

internal sealed record MmEphemeralMessage(string ChannelId, string Message);
