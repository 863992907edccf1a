using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Model;

internal sealed class UserRecord
{
    public required string Id { get; init; }
    public required string Username { get; set; }
    public required string Email { get; set; }
    public string Password { get; set; } = "";
    public string FirstName { get; set; } = "";
    public string LastName { get; set; } = "";
    public string Nickname { get; set; } = "";
    public string Position { get; set; } = "";
    public string Roles { get; set; } = "system_user";
    public bool IsBot { get; init; }
    public string BotDescription { get; set; } = "";
    public string BotOwnerId { get; set; } = "";
    public bool EmailVerified { get; set; }
    public long CreateAt { get; init; }
    public long UpdateAt { get; set; }
    public long DeleteAt { get; set; }
    public long LastPictureUpdate { get; set; }

    /// <summary>The uploaded profile picture and its type (null: the server draws a default).</summary>
    public (byte[] Data, string ContentType)? Picture { get; set; }
    public JsonObject Props { get; set; } = [];

    public bool HasRole(string role) => Roles.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(role);
    public bool IsAdmin => HasRole("system_admin");
    public bool IsGuest => HasRole("system_guest");

    /// <summary>Sanitized user as the server returns it (no password, no auth data).</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["id"] = Id,
            ["create_at"] = CreateAt,
            ["update_at"] = UpdateAt,
            ["delete_at"] = DeleteAt,
            ["username"] = Username,
            ["auth_data"] = "",
            ["auth_service"] = "",
            ["email"] = Email,
            ["email_verified"] = EmailVerified,
            ["nickname"] = Nickname,
            ["first_name"] = FirstName,
            ["last_name"] = LastName,
            ["position"] = Position,
            ["roles"] = Roles,
            ["props"] = Props.DeepClone(),
            ["notify_props"] = new JsonObject { ["channel"] = "true", ["desktop"] = "mention", ["email"] = "true", ["mention_keys"] = "", ["push"] = "mention" },
            ["last_password_update"] = CreateAt,
            ["locale"] = "en",
            ["timezone"] = new JsonObject { ["automaticTimezone"] = "", ["manualTimezone"] = "", ["useAutomaticTimezone"] = "true" },
            ["disable_welcome_email"] = false,
        };
        if (LastPictureUpdate != 0)
        {
            o["last_picture_update"] = LastPictureUpdate;
        }
        if (IsBot)
        {
            o["is_bot"] = true;
            o["bot_description"] = BotDescription;
        }
        return o;
    }

    public JsonObject ToBotJson() => new()
    {
        ["user_id"] = Id,
        ["username"] = Username,
        ["display_name"] = FirstName,
        ["description"] = BotDescription,
        ["owner_id"] = BotOwnerId,
        ["create_at"] = CreateAt,
        ["update_at"] = UpdateAt,
        ["delete_at"] = DeleteAt,
    };
}

internal sealed class TeamRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string DisplayName { get; set; }
    public string Type { get; init; } = "O";
    public long CreateAt { get; init; }

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["create_at"] = CreateAt,
        ["update_at"] = CreateAt,
        ["delete_at"] = 0,
        ["display_name"] = DisplayName,
        ["name"] = Name,
        ["description"] = "",
        ["email"] = "",
        ["type"] = Type,
        ["company_name"] = "",
        ["allowed_domains"] = "",
        ["invite_id"] = Id,
        ["allow_open_invite"] = false,
        ["scheme_id"] = null,
        ["group_constrained"] = null,
        ["policy_id"] = null,
    };
}

internal sealed class ChannelRecord
{
    public required string Id { get; init; }
    public required string TeamId { get; init; }
    public required string Name { get; init; }
    public required string DisplayName { get; set; }
    public string Type { get; init; } = "O";
    public string CreatorId { get; init; } = "";
    public long CreateAt { get; init; }
    public long UpdateAt { get; set; }
    public long DeleteAt { get; set; }
    public long LastPostAt { get; set; }
    public long TotalMsgCount { get; set; }

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["create_at"] = CreateAt,
        ["update_at"] = UpdateAt,
        ["delete_at"] = DeleteAt,
        ["team_id"] = TeamId,
        ["type"] = Type,
        ["display_name"] = DisplayName,
        ["name"] = Name,
        ["header"] = "",
        ["purpose"] = "",
        ["last_post_at"] = LastPostAt,
        ["total_msg_count"] = TotalMsgCount,
        ["extra_update_at"] = 0,
        ["creator_id"] = CreatorId,
        ["scheme_id"] = null,
        ["props"] = null,
        ["group_constrained"] = null,
        ["shared"] = null,
        ["total_msg_count_root"] = TotalMsgCount,
        ["policy_id"] = null,
        ["last_root_post_at"] = LastPostAt,
    };
}

internal sealed class PostRecord
{
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public required string ChannelId { get; init; }
    public long CreateAt { get; init; }
    public long UpdateAt { get; set; }
    public long EditAt { get; set; }
    public long DeleteAt { get; set; }
    public bool IsPinned { get; set; }
    public string RootId { get; init; } = "";
    public string Message { get; set; } = "";
    public string Type { get; init; } = "";
    public JsonObject Props { get; set; } = [];
    public List<string> FileIds { get; set; } = [];
    public string PendingPostId { get; init; } = "";
    public bool HasReactions { get; set; }

    public JsonObject ToJson(SandboxState state)
    {
        var o = new JsonObject
        {
            ["id"] = Id,
            ["create_at"] = CreateAt,
            ["update_at"] = UpdateAt,
            ["edit_at"] = EditAt,
            ["delete_at"] = DeleteAt,
            ["is_pinned"] = IsPinned,
            ["user_id"] = UserId,
            ["channel_id"] = ChannelId,
            ["root_id"] = RootId,
            ["original_id"] = "",
            ["message"] = Message,
            ["type"] = Type,
            ["props"] = Props.DeepClone(),
            ["hashtags"] = "",
            ["file_ids"] = new JsonArray(FileIds.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray()),
            ["pending_post_id"] = PendingPostId,
            ["reply_count"] = state.ReplyCount(this),
            ["last_reply_at"] = 0,
            ["participants"] = null,
        };
        if (HasReactions)
        {
            o["has_reactions"] = true;
        }
        var metadata = new JsonObject();
        var files = FileIds.Select(state.FindFile).OfType<FileRecord>().Select(f => (JsonNode?)f.ToJson()).ToArray();
        if (files.Length > 0)
        {
            metadata["files"] = new JsonArray(files);
        }
        var reactions = state.ReactionsOf(Id).Select(r => (JsonNode?)r.ToJson()).ToArray();
        if (reactions.Length > 0)
        {
            metadata["reactions"] = new JsonArray(reactions);
        }
        o["metadata"] = metadata;
        return o;
    }
}

internal sealed class ReactionRecord
{
    public required string UserId { get; init; }
    public required string PostId { get; init; }
    public required string EmojiName { get; init; }
    public required string ChannelId { get; init; }
    public long CreateAt { get; init; }

    public JsonObject ToJson() => new()
    {
        ["user_id"] = UserId,
        ["post_id"] = PostId,
        ["emoji_name"] = EmojiName,
        ["create_at"] = CreateAt,
        ["update_at"] = CreateAt,
        ["delete_at"] = 0,
        ["remote_id"] = "",
        ["channel_id"] = ChannelId,
    };
}

internal sealed class FileRecord
{
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public required string ChannelId { get; init; }
    public string PostId { get; set; } = "";
    public long CreateAt { get; init; }
    public required string Name { get; init; }
    public required string MimeType { get; init; }
    public required byte[] Data { get; init; }

    public string Extension
    {
        get
        {
            var ext = Path.GetExtension(Name);
            return ext.Length > 1 ? ext[1..].ToLowerInvariant() : "";
        }
    }

    /// <summary>
    /// Image dimensions as the server measures them on upload (its FileInfo width/height, left out when zero). The sandbox
    /// reads PNG headers only; other images have none here.
    /// </summary>
    public (int Width, int Height) Dimensions =>
        Data.Length >= 24 && Data.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }) && Data.AsSpan(12, 4).SequenceEqual("IHDR"u8)
            ? ((int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(Data.AsSpan(16, 4)), (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(Data.AsSpan(20, 4)))
            : (0, 0);

    public JsonObject ToJson()
    {
        var json = Json();
        if (Dimensions is ( > 0, > 0) d)
        {
            json["width"] = d.Width;
            json["height"] = d.Height;
        }
        return json;
    }

    private JsonObject Json() => new()
    {
        ["id"] = Id,
        ["user_id"] = UserId,
        ["post_id"] = PostId,
        ["channel_id"] = ChannelId,
        ["create_at"] = CreateAt,
        ["update_at"] = CreateAt,
        ["delete_at"] = 0,
        ["name"] = Name,
        ["extension"] = Extension,
        ["size"] = Data.LongLength,
        ["mime_type"] = MimeType,
        ["mini_preview"] = null,
        ["remote_id"] = "",
        ["archived"] = false,
    };
}

internal sealed class AccessTokenRecord
{
    public required string Id { get; init; }
    public required string Token { get; init; }
    public required string UserId { get; init; }
    public string Description { get; init; } = "";
    public bool IsActive { get; set; } = true;

    public JsonObject ToJson(bool withToken)
    {
        var o = new JsonObject { ["id"] = Id };
        if (withToken)
        {
            o["token"] = Token;
        }
        o["user_id"] = UserId;
        o["description"] = Description;
        o["is_active"] = IsActive;
        o["expires_at"] = 0;
        return o;
    }
}

internal sealed record SessionRecord(string Token, string UserId, string? AccessTokenId);

internal sealed class ChannelMemberRecord
{
    public required string ChannelId { get; init; }
    public required string UserId { get; init; }
    public string Roles { get; init; } = "channel_user";
    public long LastViewedAt { get; set; }

    public JsonObject ToJson(bool guest) => new()
    {
        ["channel_id"] = ChannelId,
        ["user_id"] = UserId,
        ["roles"] = Roles,
        ["last_viewed_at"] = LastViewedAt,
        ["msg_count"] = 0,
        ["mention_count"] = 0,
        ["mention_count_root"] = 0,
        ["urgent_mention_count"] = 0,
        ["msg_count_root"] = 0,
        ["notify_props"] = new JsonObject { ["desktop"] = "default", ["email"] = "default", ["mark_unread"] = "all", ["push"] = "default", ["ignore_channel_mentions"] = "default" },
        ["last_update_at"] = LastViewedAt,
        ["scheme_guest"] = guest,
        ["scheme_user"] = !guest,
        ["scheme_admin"] = false,
        ["explicit_roles"] = "",
    };
}
