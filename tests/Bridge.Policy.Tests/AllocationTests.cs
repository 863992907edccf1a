using Bridge.Core.Policy;
using static Bridge.Policy.Tests.TestSupport;

namespace Bridge.Policy.Tests;

/// <summary>
/// The policy runs for every event and destination: when no rule changes the event, a decision allocates only the
/// decision itself. Measured in bytes (deterministic), not time.
/// </summary>
public class AllocationTests
{
    [Fact]
    public void A_decision_where_no_rule_applies_allocates_only_the_decision()
    {
        const string yaml = """
            policy:
              labels: [UNCLASSIFIED, CUI, SECRET]
              barriers: [[X, Y]]
              defaults:
                sources: { deny: { people: ['@bot-*:a.example', 're:@spam\d+:.*'] } }
                content:
                  links: { allowedDomains: [example.org] }
                  redact: [ { name: ssn, pattern: '\b\d{3}-\d{2}-\d{4}\b' } ]
                  attachments: { types: ['image/*'] }
                  maxLength: 4000
            """;
        var policy = new ReloadableSharingPolicy(Compile(yaml));
        var source = Network("org-a", "A", defaultLabel: "CUI");
        var destination = Network("org-b", "B", clearance: "SECRET");
        var link = Link("ops", source, destination);
        // A marker already in the text and a structured label in a List (as deserialised events have): neither needs an allocation.
        var context = new PolicyContext(Message("org-a", "[CUI] the usual status report, nothing special in it", structured: new List<string> { "cui" }), link, source,
            new Core.Model.ChannelRef("org-b", "room"), destination);

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(PolicyVerdict.Deliver, policy.Decide(context).Verdict);
        }

        const int calls = 1000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < calls; i++)
        {
            policy.Decide(context);
        }

        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
        Assert.True(perCall <= 96, $"{perCall} bytes per decision");
    }

    [Fact]
    public void A_person_with_a_picture_costs_no_more_where_pictures_are_not_withheld()
    {
        var policy = new ReloadableSharingPolicy(Compile("policy: { defaults: { content: { maxLength: 4000 } } }"));
        var source = Network("org-a", "A");
        var destination = Network("org-b", "B");
        var picture = new Core.Profiles.AvatarRef(new Core.Media.MediaSource("org-a", "mxc://a/pic"), "mxc://a/pic");
        var e = Message("org-a", "hello") with { Sender = Message("org-a", "hello").Sender with { Avatar = picture } };
        var context = new PolicyContext(e, Link("ops", source, destination), source, new Core.Model.ChannelRef("org-b", "room"), destination);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal("mxc://a/pic", policy.Decide(context).Event.Sender.Avatar?.Version);
        }

        const int calls = 1000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < calls; i++)
        {
            policy.Decide(context);
        }

        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
        Assert.True(perCall <= 96, $"{perCall} bytes per decision");
    }
}
