namespace Bridge.Testing;

/// <summary>Finds the repository's scripts and tools from a build output folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Script(string name) => Path.Combine(Root, "scripts", name);

    public static string Tool(string name) => Path.Combine(Root, "tests", "tools", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Bridge.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Bridge.sln above {AppContext.BaseDirectory}");
    }
}
