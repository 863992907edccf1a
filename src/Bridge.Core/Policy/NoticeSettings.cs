namespace Bridge.Core.Policy;

/// <summary>What a barrier tells the sender whose event it stopped.</summary>
public enum BarrierNoticeMode
{
    /// <summary>Nothing: any notice would tell the sender that someone on the other side is in the channel.</summary>
    None,

    /// <summary>One sentence that names no network, organisation or person.</summary>
    Generic,
}

/// <summary>
/// How senders are told about policy decisions, from <c>policy:barrierNotice</c> and <c>policy:noticeWindow</c>.
/// Compiled into the policy so that a reload changes them together with the rules.
/// </summary>
public sealed record NoticeSettings(BarrierNoticeMode BarrierNotice, TimeSpan Window)
{
    /// <summary>The longest window accepted (a day): longer would hide a whole day's blocks behind one notice.</summary>
    public const int MaxWindowSeconds = 86_400;

    public static NoticeSettings Default { get; } = new(BarrierNoticeMode.None, TimeSpan.FromSeconds(60));
}

/// <summary>A policy that carries notice settings (the compiled policy, and the reloadable one that holds it).</summary>
public interface INoticeSettingsSource
{
    NoticeSettings NoticeSettings { get; }
}
