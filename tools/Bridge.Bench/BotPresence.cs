using Bridge.Testing;

namespace Bridge.Bench;

/// <summary>
/// The daemon says "Bridge started" before its bot has joined the rooms (joins run in the background). On a fresh store
/// what is said before the bot is in a room is not the bridge's to carry, so a bench that talks right after the start
/// first waits for the bot's new join in both rooms.
/// </summary>
internal static class BotPresence
{
    private const string BotNick = "bridge";

    public static (int Alice, int Bob) Count(XmppPerson alice, XmppPerson bob) =>
        (alice.PresenceCount(BotNick, "available"), bob.PresenceCount(BotNick, "available"));

    public static Task WaitForJoinAsync(XmppPerson alice, XmppPerson bob, (int Alice, int Bob) before) =>
        Task.WhenAll(
            alice.WaitForPresenceAfterAsync(BotNick, "available", before.Alice, TimeSpan.FromSeconds(60)),
            bob.WaitForPresenceAfterAsync(BotNick, "available", before.Bob, TimeSpan.FromSeconds(60)));
}
