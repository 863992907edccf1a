using Microsoft.Extensions.Logging;

namespace Bridge.Matrix;

/// <summary>Event ids of the Matrix connector's log lines (3000–3099).</summary>
internal static class MatrixLog
{
    public static readonly EventId Listening = new(3000, "MatrixListening");
    public static readonly EventId TransactionFailed = new(3001, "MatrixTransactionFailed");
    public static readonly EventId QueryFailed = new(3002, "MatrixQueryFailed");
    public static readonly EventId BadToken = new(3003, "MatrixBadHsToken");
    public static readonly EventId Ready = new(3004, "MatrixReady");
    public static readonly EventId HomeserverUnreachable = new(3005, "MatrixHomeserverUnreachable");
    public static readonly EventId PingFailed = new(3006, "MatrixPingFailed");
    public static readonly EventId RoomUnavailable = new(3007, "MatrixRoomUnavailable");
    public static readonly EventId InviteAccepted = new(3008, "MatrixInviteAccepted");
    public static readonly EventId InviteIgnored = new(3009, "MatrixInviteIgnored");
    public static readonly EventId EventDropped = new(3010, "MatrixEventDropped");
    public static readonly EventId DeliveryFailed = new(3011, "MatrixDeliveryFailed");
    public static readonly EventId RateLimited = new(3012, "MatrixRateLimited");
    public static readonly EventId TransactionDone = new(3013, "MatrixTransaction");
    public static readonly EventId NoticeRoomCreated = new(3014, "MatrixNoticeRoomCreated");
    public static readonly EventId TooLarge = new(3015, "MatrixTooLarge");
    public static readonly EventId RoomsChanged = new(3016, "MatrixRoomsChanged");
    public static readonly EventId MediaNotServed = new(3017, "MatrixMediaNotServed");
    public static readonly EventId AttachmentNotCopied = new(3018, "MatrixAttachmentNotCopied");
    public static readonly EventId TypingDropped = new(3019, "MatrixTypingDropped");
    public static readonly EventId ThreadRefused = new(3040, "MatrixThreadRefused");
}
