using Bridge.Host.Configuration;
using Bridge.Testing;

namespace Bridge.Tests.HostTests;

/// <summary>
/// The configuration file's watch sees the file's own changes, whichever way an editor saves, and nothing else in its
/// folder: the SQLite store may sit next to it and writes tens of times per message.
/// </summary>
public sealed class ConfigFileWatchTests
{
    [Fact]
    public void A_write_in_place_fires_the_token_and_a_new_token_waits_for_the_next_change()
    {
        using var dir = new TempDirectory();
        using var watch = WatchNewFile(dir, out var path);

        var first = watch.Watch();
        watch.Poll();
        Assert.False(first.HasChanged);

        File.AppendAllText(path, "# edited in place\n");
        watch.Poll();
        Assert.True(first.HasChanged);

        var second = watch.Watch();
        Assert.False(second.HasChanged);
        watch.Poll();
        Assert.False(second.HasChanged);
    }

    [Fact]
    public void A_replacement_by_rename_fires_the_token()
    {
        using var dir = new TempDirectory();
        using var watch = WatchNewFile(dir, out var path);
        var token = watch.Watch();

        var next = dir.File("bridge.yaml.new");
        File.WriteAllText(next, "policy: { labels: [LOW] }\n");
        File.Move(next, path, overwrite: true);
        watch.Poll();

        Assert.True(token.HasChanged);
    }

    [Fact]
    public void Writes_to_other_files_in_the_folder_do_not_fire_the_token()
    {
        using var dir = new TempDirectory();
        using var watch = WatchNewFile(dir, out _);
        var token = watch.Watch();

        using (var wal = new FileStream(dir.File("bridge.db-wal"), FileMode.Create))
        {
            for (var i = 0; i < 50; i++)
            {
                wal.Write(new byte[4096]);
                wal.Flush();
                watch.Poll();
            }
        }

        File.WriteAllText(dir.File("bridge.db"), "x");
        watch.Poll();
        Assert.False(token.HasChanged);
    }

    [Fact]
    public void A_copy_that_keeps_the_size_and_the_time_fires_the_token()
    {
        using var dir = new TempDirectory();
        using var watch = WatchNewFile(dir, out var path);
        var written = File.GetLastWriteTimeUtc(path);
        var token = watch.Watch();

        File.WriteAllText(path, "policy: []\n"); // as long as "policy: {}"
        File.SetLastWriteTimeUtc(path, written);
        watch.Poll();

        Assert.True(token.HasChanged);
    }

    [Fact]
    public void A_symbolic_link_pointed_at_another_file_fires_the_token()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("v1.yaml"), "policy: {}\n");
        File.WriteAllText(dir.File("v2.yaml"), "policy: []\n");
        var link = dir.File("bridge.yaml");
        File.CreateSymbolicLink(link, dir.File("v1.yaml"));
        using var watch = new ConfigFileWatch(link, new NeverTicks());
        var token = watch.Watch();

        // As a Kubernetes ConfigMap volume swaps its data: a new link renamed over the old one.
        File.CreateSymbolicLink(dir.File("bridge.yaml.new"), dir.File("v2.yaml"));
        File.Move(dir.File("bridge.yaml.new"), link, overwrite: true);
        watch.Poll();

        Assert.True(token.HasChanged);
    }

    [Fact]
    public void A_change_handler_that_throws_is_reported_not_thrown_on_the_timer()
    {
        using var dir = new TempDirectory();
        using var watch = WatchNewFile(dir, out var path);
        var reported = new List<Exception>();
        watch.HandlerFailed = reported.Add;
        using var _ = Microsoft.Extensions.Primitives.ChangeToken.OnChange(watch.Watch, () => throw new InvalidOperationException("a bad log level"));

        File.AppendAllText(path, "# edited\n");
        watch.Poll();

        Assert.Equal("a bad log level", Assert.Single(reported).Message);
    }

    [Fact]
    public void A_removed_file_fires_the_token_so_the_reload_can_say_it_is_missing()
    {
        using var dir = new TempDirectory();
        using var watch = WatchNewFile(dir, out var path);
        var token = watch.Watch();

        File.Delete(path);
        watch.Poll();

        Assert.True(token.HasChanged);
    }

    [Fact]
    public async Task The_loaded_configuration_follows_an_edit_of_its_file_within_a_few_looks()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        File.WriteAllText(path, "networks:\n  a: { kind: xmpp, clearance: LOW }\n");
        var root = BridgeConfiguration.Load(path, reloadOnChange: true);
        using var _ = root as IDisposable;
        var reloaded = new TaskCompletionSource();
        Microsoft.Extensions.Primitives.ChangeToken.OnChange(root.GetReloadToken, () => reloaded.TrySetResult());

        File.WriteAllText(path, "networks:\n  a: { kind: xmpp, clearance: HIGH }\n");

        // The watch looks every ConfigFileWatch.Every (2 s); a bound far above that, not a timing assertion.
        await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("HIGH", root["networks:a:clearance"]);
    }

    [Fact]
    public async Task A_reload_whose_handler_throws_is_reported_and_the_process_goes_on()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        File.WriteAllText(path, "logging:\n  logLevel:\n    default: Warning\n");
        var root = BridgeConfiguration.Load(path, reloadOnChange: true);
        using var _ = root as IDisposable;
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        root.Providers.OfType<YamlConfigurationProvider>().Single().ApplyFailed += ex => failed.TrySetResult(ex);
        // As the host's logging binding does with a level it does not know.
        using var binding = Microsoft.Extensions.Primitives.ChangeToken.OnChange(root.GetReloadToken,
            () => throw new InvalidOperationException($"'{root["logging:logLevel:default"]}' is not a log level"));

        File.WriteAllText(path, "logging:\n  logLevel:\n    default: Verbos\n");

        // Thrown on the watch's timer, this would have ended the test process; a bound far above the 2 s look.
        var ex = await failed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("Verbos", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A configuration file in <paramref name="dir"/> and a watch of it whose looks the test makes itself.</summary>
    private static ConfigFileWatch WatchNewFile(TempDirectory dir, out string path)
    {
        path = dir.File("bridge.yaml");
        File.WriteAllText(path, "policy: {}\n");
        return new ConfigFileWatch(path, new NeverTicks());
    }

    /// <summary>A clock whose timers never fire: the tests call <see cref="ConfigFileWatch.Poll"/> themselves.</summary>
    private sealed class NeverTicks : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Idle();

        private sealed class Idle : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
