namespace Sandbox.Mattermost;

/// <summary>
/// The server settings the sandbox honours. Defaults are the real server's defaults (model/config.go), so a test
/// that needs tokens or bots has to switch them on, exactly like an operator would. Changes apply at once.
/// </summary>
public sealed class SandboxSettings
{
    private volatile bool _enableUserAccessTokens;
    private volatile bool _enableBotAccountCreation;
    private volatile bool _enablePostUsernameOverride;
    private volatile bool _enablePostIconOverride;
    private volatile bool _enableGuestAccounts;
    private volatile bool _showFullName = true;
    private volatile bool _rateLimitEnable;
    private volatile bool _rateLimitVaryByUser;
    private volatile int _rateLimitPerSec = 10;
    private volatile int _rateLimitMaxBurst = 100;
    private volatile int _maxPostSize = 16383;

    /// <summary>ServiceSettings.EnableUserAccessTokens (default false: 501 for non-bot users).</summary>
    public bool EnableUserAccessTokens { get => _enableUserAccessTokens; set => _enableUserAccessTokens = value; }

    /// <summary>ServiceSettings.EnableBotAccountCreation (default false: POST /bots gives 403).</summary>
    public bool EnableBotAccountCreation { get => _enableBotAccountCreation; set => _enableBotAccountCreation = value; }

    /// <summary>ServiceSettings.EnablePostUsernameOverride (default false: override_username is stored but not shown).</summary>
    public bool EnablePostUsernameOverride { get => _enablePostUsernameOverride; set => _enablePostUsernameOverride = value; }

    /// <summary>ServiceSettings.EnablePostIconOverride (default false).</summary>
    public bool EnablePostIconOverride { get => _enablePostIconOverride; set => _enablePostIconOverride = value; }

    /// <summary>GuestAccountsSettings.Enable (default false: demote gives 501).</summary>
    public bool EnableGuestAccounts { get => _enableGuestAccounts; set => _enableGuestAccounts = value; }

    /// <summary>
    /// PrivacySettings.ShowFullName (default true). False: other users' first and last names come back empty to anyone
    /// but a system admin (the server's SanitizeProfile), so people see only username and nickname.
    /// </summary>
    public bool ShowFullName { get => _showFullName; set => _showFullName = value; }

    /// <summary>RateLimitSettings.Enable (default false).</summary>
    public bool RateLimitEnable { get => _rateLimitEnable; set => _rateLimitEnable = value; }

    /// <summary>RateLimitSettings.PerSec (default 10).</summary>
    public int RateLimitPerSec { get => _rateLimitPerSec; set => _rateLimitPerSec = value; }

    /// <summary>RateLimitSettings.MaxBurst (default 100).</summary>
    public int RateLimitMaxBurst { get => _rateLimitMaxBurst; set => _rateLimitMaxBurst = value; }

    /// <summary>RateLimitSettings.VaryByUser (default false: by remote address, which is one key on loopback).</summary>
    public bool RateLimitVaryByUser { get => _rateLimitVaryByUser; set => _rateLimitVaryByUser = value; }

    /// <summary>Maximum post length in code points (MaxPostSize, 16383 on Postgres).</summary>
    public int MaxPostSize { get => _maxPostSize; set => _maxPostSize = value; }

    public string ServerVersion { get; set; } = "10.5.0";

    /// <summary>
    /// How long each API request takes before it is handled (not the WebSocket): a real server's round trip and work,
    /// for benchmarks of a slow server. Zero, the default, answers at once.
    /// </summary>
    public TimeSpan ResponseDelay { get; set; }
}
