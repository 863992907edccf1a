using Bridge.Core.Reactions;

namespace Bridge.Store.Tests;

/// <summary>Reaction sets per (message, person): the same behaviour on every store (and the in-memory reference).</summary>
public abstract partial class StoreContractTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Reaction_sets_are_kept_per_message_and_person_and_an_older_set_never_replaces_a_newer_one()
    {
        await ReactionSetContract.RunAsync(Store);
    }

    [Fact]
    public async Task Reaction_sets_survive_a_reopen()
    {
        var owner = new ReactionOwner("mx", "$m1", "@alice:x");
        await Store.PutReactionsAsync(owner, ReactionSet.Empty.With("👍", "$r1", T0), Ct);
        await Store.DisposeAsync();
        Store = OpenStore();
        await Store.MigrateAsync(Ct);
        Assert.Equal("$r1", (await Store.GetReactionsAsync(owner, Ct)).Keys["👍"]);
        Assert.Equal(new FoundReaction(owner, "👍"), await Store.FindReactionAsync("mx", "$r1", Ct));
    }
}

/// <summary>The reaction-set contract, run against any <see cref="IReactionStore"/>.</summary>
internal static class ReactionSetContract
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    public static async Task RunAsync(IReactionStore store)
    {
        var ct = CancellationToken.None;
        var alice = new ReactionOwner("mx", "$m1", "@alice:x");
        var bob = new ReactionOwner("mx", "$m1", "@bob:x");
        Assert.Empty((await store.GetReactionsAsync(alice, ct)).Keys);

        // A second reaction adds to the first (set semantics), per person.
        Assert.True(await store.PutReactionsAsync(alice, ReactionSet.Empty.With("👍", "$r1", T0), ct));
        var two = (await store.GetReactionsAsync(alice, ct)).With("🎉", "$r2", T0.AddSeconds(1));
        Assert.True(await store.PutReactionsAsync(alice, two, ct));
        Assert.True(await store.PutReactionsAsync(bob, ReactionSet.Empty.With("👍", "$r3", T0), ct));
        var read = await store.GetReactionsAsync(alice, ct);
        Assert.Equal(["$r1", "$r2"], read.Keys.OrderBy(k => k.Value, StringComparer.Ordinal).Select(k => k.Value));
        Assert.Equal(T0.AddSeconds(1), read.At);
        Assert.Equal(new FoundReaction(alice, "🎉"), await store.FindReactionAsync("mx", "$r2", ct));
        Assert.Equal(new FoundReaction(bob, "👍"), await store.FindReactionAsync("mx", "$r3", ct));
        Assert.Null(await store.FindReactionAsync("other", "$r3", ct));

        // An archived (older) set changes nothing; one of the same time or later does.
        Assert.False(await store.PutReactionsAsync(alice, new ReactionSet(new Dictionary<string, string>(), T0), ct));
        Assert.Equal(2, (await store.GetReactionsAsync(alice, ct)).Keys.Count);
        var removed = read.Without("👍", T0.AddSeconds(2));
        Assert.True(await store.PutReactionsAsync(alice, removed, ct));
        Assert.Equal(["🎉"], (await store.GetReactionsAsync(alice, ct)).Keys.Keys);
        Assert.Null(await store.FindReactionAsync("mx", "$r1", ct)); // a removed reaction's event is no longer known

        // An empty set is kept with its time, so an older full set still cannot bring keys back.
        Assert.True(await store.PutReactionsAsync(alice, new ReactionSet(new Dictionary<string, string>(), T0.AddSeconds(3)), ct));
        Assert.False(await store.PutReactionsAsync(alice, ReactionSet.Empty.With("👍", "", T0.AddSeconds(2)), ct));
        Assert.Empty((await store.GetReactionsAsync(alice, ct)).Keys);
    }
}

public sealed class MemoryReactionStoreTests
{
    [Fact]
    public Task The_in_memory_reference_keeps_the_same_contract() => ReactionSetContract.RunAsync(new MemoryReactionStore());

    [Fact]
    public void A_full_set_is_compared_with_the_known_one()
    {
        var known = ReactionSet.Empty.With("👍", "", DateTimeOffset.UnixEpoch).With("🎉", "", DateTimeOffset.UnixEpoch);
        var changes = ReactionChanges.Between(known, ["🎉", "❤️", "❤️"]);
        Assert.Equal(["❤️"], changes.Added);
        Assert.Equal(["👍"], changes.Removed);
    }
}
