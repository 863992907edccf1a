using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Mattermost.Text;

namespace Bridge.Mattermost.Tests;

/// <summary>@username in and out: a real user is themselves, a puppet is the person it stands for, and back.</summary>
public sealed class MentionTests
{
    [Fact]
    public async Task A_post_names_real_users_and_the_people_behind_puppets_but_never_the_channel_or_code()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        var carol = h.Sandbox.CreateUser("carol");
        var puppetPost = await h.DeliverTextAsync("hello from matrix");
        var puppet = h.Sandbox.GetUser(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == puppetPost).UserId);

        var post = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, $"@carol and @{puppet.Username}, see this. @channel `@carol` @nobody");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == post.Id), "post");

        var mentions = h.Sink.Messages.Single(e => e.NativeId == post.Id).Mentions;
        Assert.Equal(2, mentions.Count);
        Assert.Equal(("mm", carol.Id, "@carol"), (mentions[0].Person.NetworkId, mentions[0].Person.UserId, mentions[0].Written));
        Assert.Equal((MmHarness.Remote, "@alice:example.org", "@" + puppet.Username),
            (mentions[1].Person.NetworkId, mentions[1].Person.UserId, mentions[1].Written));
    }

    [Fact]
    public async Task A_mention_from_elsewhere_becomes_the_username_of_the_account_or_puppet_here_and_an_unknown_one_notifies_no_one()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        var puppetPost = await h.DeliverTextAsync("hello from matrix");
        var puppet = h.Sandbox.GetUser(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == puppetPost).UserId);

        var ev = MmHarness.Message("Bob, Alice and @dave: look", MmHarness.Person("Erin", "@erin:example.org")) with
        {
            Mentions =
            [
                new Mention { Person = new PersonRef { NetworkId = "mm", UserId = bob.Id, DisplayName = "Bob" }, Written = "Bob" },
                new Mention { Person = MmHarness.Person(), Written = "Alice" },
                new Mention { Person = MmHarness.Person("Dave", "@dave:example.org"), Written = "@dave" },
            ],
        };
        var id = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(ev), CancellationToken.None)).NativeId;
        Assert.Equal($"@bob, @{puppet.Username} and @{MentionNeutraliser.Joiner}dave: look", h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).Message);

        // An edit carries its mentions like a message.
        var edit = ev with { Kind = BridgeEventKind.Edit, Text = "Bob and Alice, sorry", NativeId = "$edit" };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(edit, target: id), CancellationToken.None));
        Assert.Equal($"@bob and @{puppet.Username}, sorry", h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).Message);
    }
}
