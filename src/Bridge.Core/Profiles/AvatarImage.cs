using System.Security.Cryptography;

namespace Bridge.Core.Profiles;

/// <summary>A picture read whole (avatars are small and capped), its checked image type and the SHA-256 of its bytes.</summary>
public sealed class AvatarImage
{
    public AvatarImage(byte[] bytes, string contentType)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Bytes = bytes;
        ContentType = contentType;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    public byte[] Bytes { get; }

    /// <summary>The type the bytes show (PNG, JPEG, GIF or WebP), whatever the server claimed.</summary>
    public string ContentType { get; }

    /// <summary>Lower-case hex SHA-256 (XEP-0153 uses SHA-1, which destinations compute themselves).</summary>
    public string Sha256 { get; }

    /// <summary>A file name with the extension of the type (for uploads that want one).</summary>
    public string FileName => "avatar" + ImageSniffer.Extension(ContentType);
}
