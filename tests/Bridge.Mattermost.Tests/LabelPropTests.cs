using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Mattermost.Api;

namespace Bridge.Mattermost.Tests;

/// <summary>The classification prop fails closed: present but empty or not a string is passed on, never dropped (R-S1).</summary>
public class LabelPropTests
{
    [Fact]
    public void Present_labels_are_kept_whatever_they_hold()
    {
        static MmPost Post(JsonObject? props) => new() { Id = "p", Props = props };
        Assert.Empty(Post(null).LabelProp("classification"));
        Assert.Empty(Post(new JsonObject { ["other"] = "x" }).LabelProp("classification"));
        Assert.Equal(["CUI"], Post(new JsonObject { ["classification"] = "CUI" }).LabelProp("classification"));
        Assert.Equal([""], Post(new JsonObject { ["classification"] = "" }).LabelProp("classification"));
        Assert.Equal([StructuredLabel.NotAString], Post(new JsonObject { ["classification"] = null }).LabelProp("classification"));
        Assert.Equal([StructuredLabel.NotAString], Post(new JsonObject { ["classification"] = 7 }).LabelProp("classification"));
        Assert.Equal([StructuredLabel.NotAString], Post(new JsonObject { ["classification"] = new JsonObject() }).LabelProp("classification"));
    }
}
