using System.Security.Cryptography;

namespace Sandbox.Matrix.Http;

/// <summary>Random opaque identifiers and tokens (never sequential, like a real homeserver's).</summary>
internal static class Ids
{
    private const string Letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string UrlSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    public static string RoomId(string server) => "!" + RandomNumberGenerator.GetString(Letters, 18) + ":" + server;

    /// <summary>Room version 4+ event ids: <c>$</c> followed by the URL-safe unpadded base64 of a 32-byte hash.</summary>
    public static string EventId() => "$" + RandomNumberGenerator.GetString(UrlSafe, 43);

    public static string AccessToken() => "syt_" + RandomNumberGenerator.GetString(UrlSafe, 40);

    public static string DeviceId() => RandomNumberGenerator.GetString(Upper, 10);

    public static string MediaId() => RandomNumberGenerator.GetString(Letters, 24);

    public static string Session() => RandomNumberGenerator.GetString(Letters, 24);

    public static string Localpart() => RandomNumberGenerator.GetString("0123456789", 12);
}
