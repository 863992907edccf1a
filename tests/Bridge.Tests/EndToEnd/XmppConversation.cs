using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>Checks shared by the end-to-end tests between two XMPP rooms.</summary>
internal static class XmppConversation
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    /// <summary>Both directions work (puppets exist and rooms are joined) before a test starts counting.</summary>
    public static async Task WarmUpAsync(XmppPerson alice, XmppPerson bob)
    {
        await alice.SayAsync("warm-up from alice");
        await bob.WaitForAsync(ms => ms.Any(m => m.Body == "warm-up from alice"), Long, "Alice's warm-up");
        await bob.SayAsync("warm-up from bob");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "warm-up from bob"), Long, "Bob's warm-up");
    }

    /// <summary>The messages starting with <paramref name="prefix"/> are prefix0, prefix1, … once each, in order, all from <paramref name="expectedNick"/>.</summary>
    public static void AssertExactlyInOrder(IReadOnlyList<ReceivedMessage> messages, string prefix, string expectedNick)
    {
        var ours = messages.Where(m => m.Body.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        var expected = Enumerable.Range(0, ours.Count).Select(i => $"{prefix}{i}").ToList();
        Assert.Equal(expected, ours.Select(m => m.Body).ToList());
        Assert.All(ours, m => Assert.Equal(expectedNick, m.FromNick));
    }
}
