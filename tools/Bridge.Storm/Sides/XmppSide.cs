using Bridge.Testing;

namespace Bridge.Storm.Sides;

/// <summary>Alice on Prosody: a real slixmpp client in the MUC room; her view is the stream her client received.</summary>
internal sealed class XmppSide(XmppPerson alice, Uri fileBase) : Side
{
    public override string Network => "xmpp";

    public override Task<string> SayAsync(string text, CancellationToken cancellationToken) => alice.SayConfirmedAsync(text);

    public override Task EditAsync(string handle, string text, CancellationToken cancellationToken) => alice.CorrectAsync(handle, text);

    public override Task ReactAsync(string targetId, CancellationToken cancellationToken) => alice.ReactAsync(targetId, "\U0001F44D");

    /// <summary>As Conversations and Dino do after an HTTP upload: the URL as body and as XEP-0066 out-of-band data.</summary>
    public override Task ShareFileAsync(string name, CancellationToken cancellationToken) => alice.ShareFileAsync(new Uri(fileBase, name).ToString());

    public override Task<RoomView> ViewAsync(CancellationToken cancellationToken)
    {
        var items = alice.Messages.Select(m => new VisibleItem(
            m.StanzaId ?? m.Id ?? "",
            [.. new[] { m.StanzaId, m.Id }.OfType<string>()],
            m.Body,
            Local: m.FromNick == alice.Nick,
            IsCorrection: m.ReplaceId is not null,
            EditedInPlace: false,
            FileNames: [])).ToList();
        var reactions = alice.Reactions.Select(r => new VisibleReaction(r.TargetId, r.FromNick == alice.Nick)).ToList();
        return Task.FromResult(new RoomView(items, reactions));
    }

    public override ValueTask DisposeAsync() => alice.DisposeAsync();
}
