using Bridge.Core.Model;

namespace Bridge.Mattermost.Puppets;

internal sealed partial class PuppetManager
{
    /// <summary>The person's puppet if one exists already (typing never creates one).</summary>
    public PuppetRecord? Find(PersonRef person) => _byPerson.GetValueOrDefault(person.Key);
}
