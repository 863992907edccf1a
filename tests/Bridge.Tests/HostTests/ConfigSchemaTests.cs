using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Microsoft.Extensions.Configuration;

namespace Bridge.Tests.HostTests;

/// <summary>The schema checker itself: keys come from the options type, so a new property is known at once.</summary>
public sealed class ConfigSchemaTests
{
    private enum Mode
    {
        Fast,
        Careful,
    }

    private sealed class Inner
    {
        public int Count { get; set; }
    }

    private sealed class Sample
    {
        public string Name { get; set; } = "";
        public Mode Mode { get; set; }
        public TimeSpan? Wait { get; set; }
        public Inner Nested { get; } = new(); // get-only: the binder binds into it
        public Dictionary<string, Inner> ById { get; set; } = [];
        public List<Inner> Items { get; set; } = [];
        public string Computed => Name + "!"; // get-only value: not a key
    }

    private static IReadOnlyList<ConfigError> Check(params (string Key, string Value)[] pairs) =>
        ConfigSchema.FromType(typeof(Sample), ConfigSchema.Nested(typeof(Inner))).Check(
            new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => KeyValuePair.Create<string, string?>("s:" + p.Key, p.Value))).Build().GetSection("s"));

    [Fact]
    public void Every_property_of_the_options_type_is_a_known_key_at_any_depth()
    {
        Assert.Empty(Check(("name", "x"), ("mode", "careful"), ("wait", "00:00:01"), ("nested:count", "3"), ("byId:anything:count", "1"), ("ITEMS:1:COUNT", "2")));
    }

    [Theory]
    [InlineData("computed", "s:computed", "unknown key")]
    [InlineData("nested:cuont", "s:nested:cuont", "unknown key; did you mean 'count'?")]
    [InlineData("byId:x:coutn", "s:byId:x:coutn", "unknown key; did you mean 'count'?")]
    [InlineData("items:0:nope", "s:items:0:nope", "unknown key; expected one of: count")]
    [InlineData("items:first", "s:items:first", "expected a list item")]
    [InlineData("mode", "s:mode", "'' is not one of")]
    [InlineData("wait", "s:wait", "'' is not a duration")]
    [InlineData("nested:count", "s:nested:count", "'' is not a whole number")]
    public void A_problem_names_its_full_key(string key, string expectedKey, string expectedMessage)
    {
        var value = expectedMessage.StartsWith("''", StringComparison.Ordinal) ? "bogus" : "1";
        var error = Assert.Single(Check((key, value)));

        Assert.Equal(expectedKey, error.Key);
        Assert.Contains(expectedMessage.Replace("''", $"'{value}'", StringComparison.Ordinal), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_nested_options_type_that_is_not_named_is_refused_when_the_schema_is_built()
    {
        // The schema reads only the types it is given (what trimming and Native AOT keep): a forgotten one must not
        // become a section that accepts anything, nor one that accepts nothing at run time.
        var ex = Assert.Throws<InvalidOperationException>(() => ConfigSchema.FromType(typeof(Sample)));
        Assert.Contains("Inner", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("clearence", "clearance")]
    [InlineData("defaultlable", "defaultLabel")]
    [InlineData("organization", "organisation")]
    [InlineData("kidn", "kind")]
    [InlineData("xyz", null)]
    [InlineData("channels", null)]
    public void The_nearest_key_is_offered_only_when_it_is_a_slip(string typed, string? expected)
    {
        Assert.Equal(expected, ConfigSchema.NearestKey(typed, ["kind", "organisation", "defaultLabel", "clearance"]));
    }
}
