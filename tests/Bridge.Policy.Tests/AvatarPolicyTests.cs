using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Profiles;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

/// <summary>Avatars are pictures: a destination whose files are restricted in any way gets none (fail closed).</summary>
public sealed class AvatarPolicyTests
{
    private static readonly Bridge.Core.Configuration.NetworkDefinition A = Network("a", "org-a");
    private static readonly Bridge.Core.Configuration.NetworkDefinition B = Network("b", "org-b");

    private static BridgeEvent WithAvatar(BridgeEvent e) =>
        e with { Sender = e.Sender with { Avatar = new AvatarRef(new MediaSource("a", "mxc://a/pic"), "mxc://a/pic") } };

    [Theory]
    [InlineData("policy: { defaults: { content: { attachments: { types: ['image/*'] } } } }")]
    [InlineData("policy: { defaults: { content: { attachments: { allowed: false } } } }")]
    [InlineData("policy: { defaults: { content: { attachments: { maxBytes: 100000000 } } } }")]
    public void A_destination_with_any_file_rule_gets_no_avatar_and_the_message_is_otherwise_unchanged(string yaml)
    {
        var d = Decide(Compile(yaml), WithAvatar(Message("org-a", "hello")), A, B);
        Assert.Null(d.Event.Sender.Avatar);
        Assert.True(d.Event.Sender.AvatarRemoved); // a picture set before the rule comes off
        Assert.Equal("hello", d.Event.Text);
        Assert.Equal(PolicyVerdict.Deliver, d.Verdict);
    }

    [Fact]
    public void A_destination_without_file_rules_gets_the_avatar()
    {
        var d = Decide(Compile("policy: { defaults: { content: { maxLength: 1000 } } }"), WithAvatar(Message("org-a", "hello")), A, B);
        Assert.Equal("mxc://a/pic", d.Event.Sender.Avatar?.Version);
    }

    [Theory]
    [InlineData(BridgeEventKind.Reaction)]
    [InlineData(BridgeEventKind.ReactionRemoved)]
    [InlineData(BridgeEventKind.Delete)]
    public void Every_kind_of_event_loses_the_avatar_where_files_are_restricted(BridgeEventKind kind)
    {
        // A reaction or a retraction may be the first event that makes the person's puppet there: no picture either.
        var e = WithAvatar(Message("org-a", "")) with { Kind = kind, ReactionKey = kind == BridgeEventKind.Delete ? null : "👍", TargetNativeId = "t1" };
        var d = Decide(Compile("policy: { defaults: { content: { attachments: { allowed: false } } } }"), e, A, B);
        Assert.Equal(PolicyVerdict.Deliver, d.Verdict);
        Assert.Null(d.Event.Sender.Avatar);
    }

    [Fact]
    public void One_links_file_rule_toward_a_network_withholds_pictures_on_every_link_there()
    {
        // A puppet is one per network: a picture crossing by "ops" would show in "other"'s channels too.
        var policy = Compile("policy: { links: { other: { destinations: { b: { content: { attachments: { allowed: false } } } } } } }");
        var toB = Decide(policy, WithAvatar(Message("org-a", "hello")), A, B, linkId: "ops");
        Assert.Null(toB.Event.Sender.Avatar);
        Assert.True(toB.Event.Sender.AvatarRemoved);

        var toA = Decide(policy, WithAvatar(Message("org-b", "hello")), B, A, linkId: "ops");
        Assert.NotNull(toA.Event.Sender.Avatar); // no rule toward a
        Assert.False(toA.Event.Sender.AvatarRemoved);
    }
}
