using System.Text.Json;
using Bridge.Core.Model;
using Bridge.Mattermost.Puppets;
using CsCheck;
using Sandbox.Mattermost;

namespace Bridge.Mattermost.Tests;

/// <summary>Puppet usernames: valid for server and webapp, readable, one per person, never confusable with another's.</summary>
public sealed class PuppetNamingTests
{
    private static PersonRef Person(string userId, string display, string? handle = null, string network = "matrix") =>
        new() { NetworkId = network, UserId = userId, DisplayName = display, Handle = handle };

    [Theory]
    [InlineData("Alice Ädams", null, "br-", "br-alice_adams-")]
    [InlineData("Someone", "alice", "br-", "br-alice-")]
    [InlineData("李小龙", null, "br-", "br-")]
    [InlineData("Averyveryveryverylongdisplayname", null, "br-", "br-averyveryvery-")]
    [InlineData("all", null, "", "all-")]
    [InlineData("42", null, "", "u42-")]
    [InlineData("x", null, "_b_", "u_b_x-")]
    public void Usernames_follow_server_and_webapp_rules(string display, string? handle, string prefix, string expectedHead)
    {
        var person = Person("@someone:example.org", display, handle);
        var name = PuppetNaming.Username(prefix, person);
        Assert.StartsWith(expectedHead, name, StringComparison.Ordinal);
        Assert.Equal(expectedHead.Length + PuppetNaming.SuffixLength, name.Length);
        Assert.True(PuppetNaming.IsValid(name), name);
        Assert.True(PuppetNaming.IsValid(PuppetNaming.Username(prefix, person, attempt: 7)));
    }

    [Fact]
    public void The_username_comes_from_the_person_key_not_the_display_name()
    {
        var before = PuppetNaming.Username("br-", Person("@bob:example.org", "Bob Baker", "bob"));
        var renamed = PuppetNaming.Username("br-", Person("@bob:example.org", "Robert", "bob"));
        Assert.Equal(before, renamed);
        // Stable across restarts: a fixed value, computed from nothing but the key.
        Assert.Equal(before, PuppetNaming.Username("br-", Person("@bob:example.org", "Bob Baker", "bob")));
    }

    [Fact]
    public void Display_names_that_slug_alike_get_distinct_usernames_that_differ_beyond_punctuation()
    {
        var names = new[]
        {
            PuppetNaming.Username("br-", Person("@a:example.org", "bob_baker")),
            PuppetNaming.Username("br-", Person("@b:example.org", "bob.baker")),
            PuppetNaming.Username("br-", Person("@c:example.org", "Bob Baker")),
            PuppetNaming.Username("br-", Person("@d:example.org", "bob-baker")),
        };
        Assert.Equal(names.Length, names.Select(Skeleton).Distinct().Count());
        Assert.All(names, n => Assert.StartsWith("br-bob_baker-", n, StringComparison.Ordinal));
    }

    /// <summary>
    /// For any two different people, whatever names they pick (drawn from look-alike material: case, separators,
    /// accents, digits that resemble letters), the usernames differ even after folding punctuation and look-alikes.
    /// </summary>
    [Fact]
    public void No_two_people_get_confusable_usernames()
    {
        var nameGen = Gen.OneOf<string>("bob", "Bob", "b0b", "bób", "bo b", "BOB")
            .SelectMany(first => Gen.OneOf<string>("_", ".", "-", " ", "").SelectMany(sep => Gen.OneOf<string>("baker", "Baker", "bak3r", "bäker")
                .Select(last => first + sep + last)));
        var people = Gen.Select(Gen.String[1, 30], nameGen, Gen.String[1, 30], nameGen, Gen.OneOf<string>("matrix", "xmpp", "mm"))
            .Where(t => t.Item1 != t.Item3);
        people.Sample(t =>
        {
            var a = PuppetNaming.Username("br-", Person(t.Item1, t.Item2, network: t.Item5));
            var b = PuppetNaming.Username("br-", Person(t.Item3, t.Item4, network: t.Item5));
            Assert.True(PuppetNaming.IsValid(a) && PuppetNaming.IsValid(b), $"{a} {b}");
            Assert.NotEqual(Skeleton(a), Skeleton(b));
        }, iter: 20_000);
    }

    /// <summary>What a reader may not tell apart: punctuation, 0 and o, 1 and l and i.</summary>
    private static string Skeleton(string username) => new([.. username
        .Where(c => c is not ('_' or '.' or '-'))
        .Select(c => c switch { '0' => 'o', '1' or 'i' => 'l', _ => c })]);
}

/// <summary>Puppet identity against the sandbox: one user per person, renames follow, older puppets keep their names.</summary>
public sealed class PuppetIdentityTests
{
    private const string Scope = "mattermost:" + MmHarness.Network + ":puppets";

    private static async Task<SandboxPost> PostOfAsync(MmHarness h, Task<string> delivery)
    {
        var id = await delivery;
        return h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id);
    }

    [Fact]
    public async Task Two_people_whose_names_slug_alike_get_distinct_users_and_a_rename_keeps_the_username()
    {
        await using var h = await MmHarness.StartAsync();
        var first = await PostOfAsync(h, h.DeliverTextAsync("one", MmHarness.Person("bob_baker", "@bob1:example.org")));
        var second = await PostOfAsync(h, h.DeliverTextAsync("two", MmHarness.Person("Bob Baker", "@bob2:example.org")));
        var a = h.Sandbox.GetUser(first.UserId);
        var b = h.Sandbox.GetUser(second.UserId);
        Assert.NotEqual(a.Id, b.Id);
        Assert.NotEqual(a.Username, b.Username);
        Assert.Matches("^br-bob_baker-[a-z2-9]{5}$", a.Username);
        Assert.Matches("^br-bob_baker-[a-z2-9]{5}$", b.Username);

        // The second person renames: same user, same username, the new name where Mattermost shows it.
        var renamed = await PostOfAsync(h, h.DeliverTextAsync("three", MmHarness.Person("Robert B.", "@bob2:example.org")));
        Assert.Equal(b.Id, renamed.UserId);
        var after = h.Sandbox.GetUser(b.Id);
        Assert.Equal(b.Username, after.Username);
        Assert.Equal("Robert B.", after.FirstName);
        Assert.Equal("Robert B.", after.Nickname);
    }

    [Fact]
    public async Task A_puppet_stored_by_an_older_version_keeps_its_username()
    {
        await using var h = await MmHarness.StartAsync();
        var person = MmHarness.Person();
        var old = h.Sandbox.CreateUser("br-alice_adams");
        await h.State.SetAsync(Scope, person.Key, JsonSerializer.Serialize(new { UserId = old.Id, Username = old.Username, Token = (string?)null, DisplayName = "Alice Ädams" }), default);
        await h.Connector.DisposeAsync();
        await h.StartConnectorAsync();

        var post = await PostOfAsync(h, h.DeliverTextAsync("after the upgrade", person));
        Assert.Equal(old.Id, post.UserId);
        Assert.Equal("br-alice_adams", h.Sandbox.GetUser(post.UserId).Username);
    }
}

/// <summary>A Mattermost person's name elsewhere is never more than their fellow members see.</summary>
public sealed class ShownNameTests
{
    [Theory]
    [InlineData(true, "", "Bob Jones")]
    [InlineData(false, "", "bob")]
    [InlineData(false, "Bobby", "Bobby")]
    public async Task The_name_bridged_is_the_one_members_see(bool showFullName, string nickname, string expected)
    {
        await using var h = await MmHarness.StartAsync(server: s => s.ShowFullName = showFullName);
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.SetNames(bob.Id, "Bob", "Jones", nickname);
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);

        var post = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "hello");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == post.Id), "posted");
        var sender = h.Sink.Messages.Single(e => e.NativeId == post.Id).Sender;
        Assert.Equal((expected, "bob"), (sender.DisplayName, sender.Handle));
    }
}
