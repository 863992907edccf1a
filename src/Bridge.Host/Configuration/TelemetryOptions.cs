using Bridge.Core.Connectors;

namespace Bridge.Host.Configuration;

/// <summary>Where the bridge's spans go (<c>telemetry:</c>); metrics are always on the admin API's <c>/metrics</c>.</summary>
internal sealed class TelemetryOptions
{
    /// <summary>
    /// An OpenTelemetry collector's OTLP/HTTP endpoint (e.g. <c>http://127.0.0.1:4318</c>); the spans of every event's
    /// stages (<c>bridge.ingest</c>, <c>bridge.deliver</c>, <c>bridge.send</c>) are sent to <c>/v1/traces</c> under it.
    /// Empty (the default): no spans are kept or sent.
    /// </summary>
    public string OtlpEndpoint { get; set; } = "";

    /// <summary>How often a batch of spans is sent.</summary>
    public TimeSpan ExportInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The endpoint as a URI, or null when spans are off; adds an error for a value that is not an http(s) URL.</summary>
    public Uri? Validate(List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (ExportInterval < TimeSpan.FromMilliseconds(100) || ExportInterval > TimeSpan.FromMinutes(10))
        {
            errors.Add(new ConfigError("telemetry:exportInterval", $"must be from 00:00:00.1 to 00:10:00, got {ExportInterval}"));
        }

        if (string.IsNullOrWhiteSpace(OtlpEndpoint))
        {
            return null;
        }

        if (!Uri.TryCreate(OtlpEndpoint.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.UserInfo))
        {
            errors.Add(new ConfigError("telemetry:otlpEndpoint", $"must be an http:// or https:// URL without credentials, such as http://127.0.0.1:4318, got '{OtlpEndpoint}'"));
            return null;
        }

        return uri;
    }
}
