namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>Finds files of the repository (scripts, test tools) from the test binaries' directory.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "scripts", "prosody.sh")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (with scripts/prosody.sh) not found above " + AppContext.BaseDirectory);
    });

    public static string Root => RootLazy.Value;

    public static string ProsodyScript => Path.Combine(Root, "scripts", "prosody.sh");

    public static string PersonTool => Path.Combine(Root, "tests", "tools", "xmpp_person.py");
}
