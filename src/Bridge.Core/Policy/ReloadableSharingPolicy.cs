using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Microsoft.Extensions.Configuration;

namespace Bridge.Core.Policy;

public enum PolicyReloadStatus
{
    /// <summary>The new policy is in force.</summary>
    Accepted,

    /// <summary>The new policy is invalid; the previous one stays in force.</summary>
    Refused,

    /// <summary>The configuration compiles to the policy already in force (change tokens also fire for unrelated edits).</summary>
    Unchanged,
}

/// <summary>What a reload did, with the fingerprints before and after and, when refused, every problem found.</summary>
public sealed record PolicyReloadResult(PolicyReloadStatus Status, string PreviousFingerprint, string CurrentFingerprint, IReadOnlyList<ConfigError> Errors)
{
    /// <summary>Why, in one line: the errors of a refused policy, else a short statement.</summary>
    public string Reason => Status switch
    {
        PolicyReloadStatus.Refused => string.Join("; ", Errors.Select(e => e.ToString())),
        PolicyReloadStatus.Unchanged => "policy unchanged",
        _ => "policy replaced",
    };
}

/// <summary>
/// The policy the router calls: the compiled policy in force, replaced atomically by <see cref="TryReload"/>. A decision
/// reads the current policy once (one volatile read), so it sees either the old or the new policy, never a mix.
/// </summary>
public sealed class ReloadableSharingPolicy : ISharingPolicy, INoticeSettingsSource
{
    private readonly BridgeTopology? _topology;
    private readonly Lock _reloadGate = new();
    private CompiledPolicy _current;

    public ReloadableSharingPolicy(CompiledPolicy initial, BridgeTopology? topology = null)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _current = initial;
        _topology = topology;
    }

    /// <summary>Compiles the <c>policy:</c> section of <paramref name="configuration"/>; at start, a bad policy should stop the host.</summary>
    public static PolicyCompileResult Load(IConfiguration configuration, BridgeTopology? topology = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return PolicyCompiler.Compile(configuration.GetSection("policy"), topology);
    }

    public CompiledPolicy Current => Volatile.Read(ref _current);

    public PolicyDecision Decide(PolicyContext context) => Volatile.Read(ref _current).Decide(context);

    public NoticeSettings NoticeSettings => Volatile.Read(ref _current).NoticeSettings;

    /// <summary>Validates and compiles the <c>policy:</c> section of <paramref name="configuration"/>, and puts it in force only if it is valid.</summary>
    public PolicyReloadResult TryReload(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // Serialised so that two reloads racing cannot put the older configuration in force last.
        lock (_reloadGate)
        {
            var previous = Volatile.Read(ref _current);
            if (!HasContent(configuration.GetSection("policy")) && previous.Fingerprint != PolicyCompiler.FingerprintOfNothing)
            {
                // A file cut off before "policy:", or a "policy:" left empty, would put "no rules" in force: fail closed.
                // Running without a policy takes a restart, a deliberate act.
                return new PolicyReloadResult(PolicyReloadStatus.Refused, previous.Fingerprint, previous.Fingerprint,
                    [new ConfigError("policy", "missing or empty in the new configuration; a reload never removes the policy in force (restart the bridge to run without one)")]);
            }

            PolicyCompileResult result;
            try
            {
                result = Load(configuration, _topology);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or FormatException)
            {
                // Whatever goes wrong while compiling, a reload must never leave the bridge without a policy.
                result = new PolicyCompileResult(null, [new ConfigError("policy", "the policy could not be compiled: " + ex.Message)]);
            }

            if (!result.Succeeded)
            {
                return new PolicyReloadResult(PolicyReloadStatus.Refused, previous.Fingerprint, previous.Fingerprint, result.Errors);
            }

            var next = result.Policy!;
            if (string.Equals(next.Fingerprint, previous.Fingerprint, StringComparison.Ordinal))
            {
                return new PolicyReloadResult(PolicyReloadStatus.Unchanged, previous.Fingerprint, previous.Fingerprint, []);
            }

            Interlocked.Exchange(ref _current, next);
            return new PolicyReloadResult(PolicyReloadStatus.Accepted, previous.Fingerprint, next.Fingerprint, []);
        }
    }

    /// <summary>Whether a section holds any setting at all (a key with a value, at any depth).</summary>
    private static bool HasContent(IConfigurationSection section) =>
        !string.IsNullOrWhiteSpace(section.Value) || section.GetChildren().Any(HasContent);
}
