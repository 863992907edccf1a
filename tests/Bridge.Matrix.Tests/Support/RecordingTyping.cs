using System.Collections.Concurrent;
using Bridge.Core.Model;
using Bridge.Core.Typing;

namespace Bridge.Matrix.Tests.Support;

/// <summary>A typing sink that records what a connector reports (channel, person, typing).</summary>
internal sealed class RecordingTyping : ITypingSink
{
    public ConcurrentQueue<(ChannelRef Channel, PersonRef Person, bool Typing)> Reports { get; } = new();

    public void Typing(ChannelRef channel, PersonRef person, bool typing) => Reports.Enqueue((channel, person, typing));

    /// <summary>The reports as "user id:start|stop", in order.</summary>
    public IReadOnlyList<string> Seen => [.. Reports.Select(r => r.Person.UserId + ":" + (r.Typing ? "start" : "stop"))];
}
