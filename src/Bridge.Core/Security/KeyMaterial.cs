using Bridge.Core.Connectors;

namespace Bridge.Core.Security;

/// <summary>
/// Reads a secret key given either inline (base64) or as a file, for the audit and secrets keys. Errors name the
/// configuration key and never contain the key's text.
/// </summary>
public static class KeyMaterial
{
    /// <summary>
    /// Returns the key's bytes, null when neither is set, or null with an error added when it is unusable. A key file
    /// holds the key as base64 text (surrounding whitespace ignored), so the same value works inline and in a file.
    /// </summary>
    public static byte[]? Read(string? inline, string? file, string inlineKey, string fileKey, int minimumBytes, List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var hasInline = !string.IsNullOrWhiteSpace(inline);
        var hasFile = !string.IsNullOrWhiteSpace(file);
        if (hasInline && hasFile)
        {
            errors.Add(new ConfigError(inlineKey, $"set {inlineKey} or {fileKey}, not both"));
            return null;
        }

        if (!hasInline && !hasFile)
        {
            return null;
        }

        var source = inlineKey;
        var text = inline;
        if (hasFile)
        {
            source = fileKey;
            try
            {
                text = File.ReadAllText(file!);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                errors.Add(new ConfigError(fileKey, $"cannot read the key file '{file}': {ex.Message}"));
                return null;
            }
        }

        return Decode(text!, source, minimumBytes, errors);
    }

    /// <summary>Decodes one base64 key (for lists of retired keys), adding an error naming <paramref name="key"/> when unusable.</summary>
    public static byte[]? Decode(string text, string key, int minimumBytes, List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String((text ?? "").Trim());
        }
        catch (FormatException)
        {
            errors.Add(new ConfigError(key, "is not base64 (generate one with: openssl rand -base64 32)"));
            return null;
        }

        if (bytes.Length < minimumBytes)
        {
            errors.Add(new ConfigError(key, $"is {bytes.Length} bytes; at least {minimumBytes} are required (openssl rand -base64 32)"));
            return null;
        }

        return bytes;
    }

    /// <summary>Reads a key file for a list entry (retired keys), adding an error naming <paramref name="key"/> when unusable.</summary>
    public static byte[]? ReadFile(string path, string key, int minimumBytes, List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.Add(new ConfigError(key, $"cannot read the key file '{path}': {ex.Message}"));
            return null;
        }

        return Decode(text, key, minimumBytes, errors);
    }
}
