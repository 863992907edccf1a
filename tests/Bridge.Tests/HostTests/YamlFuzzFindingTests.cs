using Bridge.Host.Cli;

namespace Bridge.Tests.HostTests;

/// <summary>
/// Configuration files the fuzzer (tests/Bridge.Fuzz.Tests, YamlConfigFuzzTests) found to escape <c>check-config</c>
/// as something other than a printed error: each must now be "error: FILE: …" and exit code 1.
/// </summary>
public sealed class YamlFuzzFindingTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("bridge-yaml-finding-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Load(string yaml)
    {
        var file = new FileInfo(Path.Combine(_dir.FullName, "bridge.yaml"));
        File.WriteAllText(file.FullName, yaml);
        var errors = new StringWriter();
        var (root, settings) = ConfigLoading.Load(file, reloadOnChange: false, errors);
        Assert.Null(root);
        Assert.Null(settings);
        return errors.ToString();
    }

    [Fact]
    public void An_alias_inside_the_node_it_names_is_an_error_not_a_recursion_without_end()
    {
        // Found as a hang (the watchdog fired; left alone it overflows the stack and kills the process).
        var error = Load(" &db\n  providother: *db\n");
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains("alias", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_list_used_as_a_key_is_an_error_not_an_invalid_cast()
    {
        var error = Load("? [a, b]\n: c\n");
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains("line 1", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Aliases_of_aliases_are_bounded_rather_than_expanded_without_limit()
    {
        var yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + string.Concat(Enumerable.Range(1, 8).Select(i =>
            $"b{i}: &b{i} [{string.Join(", ", Enumerable.Repeat(i == 1 ? "*a" : $"*b{i - 1}", 10))}]\n"));
        var error = Load(yaml);
        Assert.Contains("more than 100000 settings", error, StringComparison.Ordinal);
    }
}
