using System.Collections.Concurrent;
using Bridge.Core.Model;
using Bridge.Core.Typing;

namespace Bridge.Matrix.Tests.Support;

/// <summary>A typing sink that records what a connector reports (channel, person, typing).</summary>
internal sealed class RecordingTyping : ITypingSink
{
    public ConcurrentQueue<(ChannelRef Channel, PersonRef Person, bool Typing)> Reports { get; } = new();

    /// <summary>Runs on the reporting thread before a report is recorded (a test may hold the connector there).</summary>
    public Action<PersonRef, bool>? BeforeRecord { get; set; }

    public void Typing(ChannelRef channel, PersonRef person, bool typing)
    {
        BeforeRecord?.Invoke(person, typing);
        Reports.Enqueue((channel, person, typing));
    }

    /// <summary>
    /// The reports as "user id:start|stop", in order, a report equal to the one before left out (the connector repeats
    /// "still typing" every few seconds in the background).
    /// </summary>
    public IReadOnlyList<string> Seen
    {
        get
        {
            var all = Reports.Select(r => r.Person.UserId + ":" + (r.Typing ? "start" : "stop")).ToList();
            return [.. all.Where((s, i) => i == 0 || s != all[i - 1])];
        }
    }
}
