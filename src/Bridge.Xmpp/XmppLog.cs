using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

internal static class XmppLog
{
    public static readonly EventId Connected = new(4001, nameof(Connected));
    public static readonly EventId ConnectFailed = new(4002, nameof(ConnectFailed));
    public static readonly EventId Disconnected = new(4003, nameof(Disconnected));
    public static readonly EventId RejectedInput = new(4004, nameof(RejectedInput));
    public static readonly EventId HandshakeRefused = new(4005, nameof(HandshakeRefused));
    public static readonly EventId ServerClosed = new(4006, nameof(ServerClosed));
    public static readonly EventId Joined = new(4010, nameof(Joined));
    public static readonly EventId JoinFailed = new(4011, nameof(JoinFailed));
    public static readonly EventId NickConflict = new(4012, nameof(NickConflict));
    public static readonly EventId RoomConfigured = new(4013, nameof(RoomConfigured));
    public static readonly EventId LeftRoom = new(4014, nameof(LeftRoom));
    public static readonly EventId Ready = new(4015, nameof(Ready));
    public static readonly EventId CatchUp = new(4020, nameof(CatchUp));
    public static readonly EventId CatchUpFailed = new(4021, nameof(CatchUpFailed));
    public static readonly EventId IngestFailed = new(4022, nameof(IngestFailed));
    public static readonly EventId Ignored = new(4023, nameof(Ignored));
    public static readonly EventId SendFailed = new(4030, nameof(SendFailed));
    public static readonly EventId StanzaRejected = new(4031, nameof(StanzaRejected));
    public static readonly EventId UnknownRoom = new(4032, nameof(UnknownRoom));
    public static readonly EventId StateFailed = new(4040, nameof(StateFailed));
    public static readonly EventId RoomAdded = new(4041, nameof(RoomAdded));
    public static readonly EventId RoomRemoved = new(4042, nameof(RoomRemoved));
    public static readonly EventId ReactionsStale = new(4043, nameof(ReactionsStale));
    public static readonly EventId UploadService = new(4044, nameof(UploadService));
    public static readonly EventId AttachmentNotCopied = new(4045, nameof(AttachmentNotCopied));
    public static readonly EventId MediaNotServed = new(4046, nameof(MediaNotServed));
    public static readonly EventId VcardServed = new(4047, nameof(VcardServed));
}
