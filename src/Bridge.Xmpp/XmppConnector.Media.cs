using System.Globalization;
using System.Net.Http.Headers;
using System.Xml.Linq;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp;

/// <summary>
/// Files on XMPP. Out: XEP-0363 HTTP File Upload (a slot requested as the puppet from the server's upload service, the
/// bytes PUT there, the GET URL sent with XEP-0066 out-of-band data). In: a shared URL is fetched only when its host is
/// one of <c>fileHosts</c> (this network's upload service), never following a redirect; any other URL stays a link.
/// </summary>
internal sealed partial class XmppConnector : IMediaSource
{
    private static readonly TimeSpan UploadTimeout = TimeSpan.FromMinutes(5);

    // Redirects are not followed: a configured host must not be able to send the bridge anywhere else.
    private readonly HttpClient _mediaHttp = new(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(10) })
    {
        Timeout = UploadTimeout,
    };

    private Task<UploadService?>? _uploadService;

    /// <summary>The upload service's address and the largest file it takes (null when it does not say).</summary>
    private sealed record UploadService(Jid Jid, long? MaxFileSize);

    /// <summary>Whether <paramref name="url"/> is on a host the operator named as this network's file host.</summary>
    internal bool IsFileHost(Uri url) =>
        url.Scheme is "http" or "https" && string.IsNullOrEmpty(url.UserInfo)
        && _options.FileHosts.Any(h => string.Equals(h, url.Authority, StringComparison.OrdinalIgnoreCase)
                                       || (!h.Contains(':', StringComparison.Ordinal) && url.IsDefaultPort && string.Equals(h, url.Host, StringComparison.OrdinalIgnoreCase)));

    public async Task<MediaDownload> OpenMediaAsync(string reference, CancellationToken cancellationToken)
    {
        if (IsVcardReference(reference))
        {
            return await OpenVcardPhotoAsync(reference, cancellationToken);
        }
        if (!Uri.TryCreate(reference, UriKind.Absolute, out var url) || !IsFileHost(url))
        {
            throw new MediaUnavailableException(MediaFailure.NotFetchable, "not a URL of this network's file hosts");
        }
        HttpResponseMessage response;
        try
        {
            response = await _mediaHttp.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            _logger.LogWarning(XmppLog.MediaNotServed, "File {Url} not fetched: {Error}", url, e.Message);
            throw new MediaUnavailableException(MediaFailure.Unavailable, e.Message, e);
        }
        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            _logger.LogWarning(XmppLog.MediaNotServed, "File {Url} not served: HTTP {Status}", url, status);
            throw new MediaUnavailableException(MediaFailure.Unavailable, $"the file host answered {status}");
        }
        return await MediaDownload.FromResponseAsync(response, cancellationToken);
    }

    /// <summary>
    /// Copies <paramref name="attachment"/> to the upload service as <paramref name="puppet"/> and returns its GET URL.
    /// Throws <see cref="MediaUnavailableException"/> when it cannot cross (too large, the service refuses, none found).
    /// </summary>
    private async Task<(Uri Get, long Size)> UploadAsync(Attachment attachment, Jid puppet, CancellationToken ct)
    {
        var service = await FindUploadServiceAsync(ct)
            ?? throw new MediaUnavailableException(MediaFailure.Refused, "this XMPP server has no HTTP upload service (XEP-0363)");
        var cap = service.MaxFileSize is { } max ? Math.Min(max, _options.MaxAttachmentBytes) : _options.MaxAttachmentBytes;
        await using var file = await _context.Media.ReadAsync(attachment, cap, ct);

        var stream = _stream ?? throw new XmppStreamClosedException("not connected");
        var request = new XElement(Ns.Component + "iq",
            new XAttribute("type", "get"), new XAttribute("from", puppet.ToString()), new XAttribute("to", service.Jid.ToString()),
            new XElement(Ns.HttpUpload + "request",
                new XAttribute("filename", SlotFileName(attachment.Name)),
                new XAttribute("size", file.Length.ToString(CultureInfo.InvariantCulture)),
                new XAttribute("content-type", file.ContentType)));
        XElement reply;
        try
        {
            reply = await SendIqAsync(stream, request, _options.SendTimeout, ct);
        }
        catch (XmppIqErrorException e)
        {
            // not-acceptable: over the service's limit (XEP-0363 <file-too-large/>); anything else: refused (quota, access).
            throw new MediaUnavailableException(e.Message.EndsWith("not-acceptable", StringComparison.Ordinal) ? MediaFailure.TooLarge : MediaFailure.Refused,
                "the upload service refused a slot: " + e.Message, e);
        }
        catch (TimeoutException e)
        {
            throw new MediaUnavailableException(MediaFailure.Refused, "the upload service did not answer", e);
        }

        var slot = reply.Element(Ns.HttpUpload + "slot");
        if (!Uri.TryCreate((string?)slot?.Element(Ns.HttpUpload + "put")?.Attribute("url"), UriKind.Absolute, out var put) || put.Scheme is not ("http" or "https")
            || !Uri.TryCreate((string?)slot?.Element(Ns.HttpUpload + "get")?.Attribute("url"), UriKind.Absolute, out var get) || get.Scheme is not ("http" or "https"))
        {
            throw new MediaUnavailableException(MediaFailure.Refused, "the upload service answered without a usable slot");
        }

        await using var body = file.OpenRead();
        using var upload = new HttpRequestMessage(HttpMethod.Put, put) { Content = new StreamContent(body) };
        upload.Content.Headers.ContentType = MediaTypeHeaderValue.TryParse(file.ContentType, out var type) ? type : new MediaTypeHeaderValue("application/octet-stream");
        upload.Content.Headers.ContentLength = file.Length;
        foreach (var header in slot!.Element(Ns.HttpUpload + "put")!.Elements(Ns.HttpUpload + "header"))
        {
            // XEP-0363 §5: only these may be set from the slot; a newline in a value is refused by HttpClient.
            var name = (string?)header.Attribute("name");
            if (name is "Authorization" or "Cookie" or "Expires")
            {
                upload.Headers.TryAddWithoutValidation(name, header.Value.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal));
            }
        }
        try
        {
            using var response = await _mediaHttp.SendAsync(upload, ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new MediaUnavailableException(response.StatusCode == System.Net.HttpStatusCode.RequestEntityTooLarge ? MediaFailure.TooLarge : MediaFailure.Refused,
                    $"the upload service answered {(int)response.StatusCode} to the PUT");
            }
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested))
        {
            throw new MediaUnavailableException(MediaFailure.Refused, "the upload failed: " + e.Message, e);
        }
        return (get, file.Length);
    }

    /// <summary>A file name the slot request can carry: the name's last path part, without control characters.</summary>
    private static string SlotFileName(string name)
    {
        var clean = new string(Path.GetFileName(name.Replace('\\', '/')).Where(c => !char.IsControl(c)).ToArray()).Trim();
        return clean.Length == 0 ? "file" : clean;
    }

    /// <summary>The upload service, configured or discovered once per start (a failed discovery is asked again next time).</summary>
    private async Task<UploadService?> FindUploadServiceAsync(CancellationToken ct)
    {
        var pending = _uploadService ??= DiscoverUploadServiceAsync(ct);
        try
        {
            var found = await pending;
            if (found is null)
            {
                _uploadService = null;
            }
            return found;
        }
        catch
        {
            _uploadService = null;
            throw;
        }
    }

    private async Task<UploadService?> DiscoverUploadServiceAsync(CancellationToken ct)
    {
        var stream = _stream ?? throw new XmppStreamClosedException("not connected");
        var candidates = new List<Jid>();
        if (_options.UploadService is { } configured)
        {
            candidates.Add(new Jid(null, configured.ToLowerInvariant(), null));
        }
        else
        {
            // The server's domain: the component's parent (bridge.example.org → example.org).
            var dot = _botJid.Domain.IndexOf('.', StringComparison.Ordinal);
            var server = new Jid(null, dot > 0 ? _botJid.Domain[(dot + 1)..] : _botJid.Domain, null);
            try
            {
                var items = await SendIqAsync(stream, new XElement(Ns.Component + "iq", new XAttribute("type", "get"), new XAttribute("from", _botJid.ToString()),
                    new XAttribute("to", server.ToString()), new XElement(Ns.DiscoItems + "query")), _options.JoinTimeout, ct);
                candidates.AddRange(items.Element(Ns.DiscoItems + "query")?.Elements(Ns.DiscoItems + "item")
                    .Select(i => Jid.TryParse((string?)i.Attribute("jid"), out var j) ? j : (Jid?)null).OfType<Jid>() ?? []);
            }
            catch (Exception e) when (e is XmppIqErrorException or TimeoutException)
            {
                _logger.LogWarning(XmppLog.UploadService, "Could not list the services of {Server}: {Error}", server, e.Message);
                return null;
            }
        }

        foreach (var candidate in candidates)
        {
            XElement info;
            try
            {
                info = await SendIqAsync(stream, new XElement(Ns.Component + "iq", new XAttribute("type", "get"), new XAttribute("from", _botJid.ToString()),
                    new XAttribute("to", candidate.ToString()), new XElement(Ns.DiscoInfo + "query")), _options.JoinTimeout, ct);
            }
            catch (Exception e) when (e is XmppIqErrorException or TimeoutException)
            {
                continue;
            }
            var query = info.Element(Ns.DiscoInfo + "query");
            if (query?.Elements(Ns.DiscoInfo + "feature").Any(f => (string?)f.Attribute("var") == Ns.HttpUpload.NamespaceName) != true)
            {
                continue;
            }
            var max = query.Elements(Ns.DataForms + "x")
                .Where(x => x.Elements(Ns.DataForms + "field").Any(f => (string?)f.Attribute("var") == "FORM_TYPE" && f.Element(Ns.DataForms + "value")?.Value == Ns.HttpUpload.NamespaceName))
                .SelectMany(x => x.Elements(Ns.DataForms + "field"))
                .Where(f => (string?)f.Attribute("var") == "max-file-size")
                .Select(f => long.TryParse(f.Element(Ns.DataForms + "value")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (long?)null)
                .FirstOrDefault(n => n > 0);
            _logger.LogInformation(XmppLog.UploadService, "HTTP upload service {Service} (max-file-size {Max})", candidate, max?.ToString(CultureInfo.InvariantCulture) ?? "not given");
            return new UploadService(candidate, max);
        }

        _logger.LogWarning(XmppLog.UploadService, "No HTTP upload service (XEP-0363) found; files from other networks will arrive as notices");
        return null;
    }

    /// <summary>A content type for a shared URL's file name (XEP-0066 names none); the policy's type rules see this.</summary>
    internal static string ContentTypeOf(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".gif" => "image/gif",
        ".webp" => "image/webp",
        ".svg" => "image/svg+xml",
        ".pdf" => "application/pdf",
        ".txt" => "text/plain",
        ".mp4" => "video/mp4",
        ".webm" => "video/webm",
        ".mp3" => "audio/mpeg",
        ".ogg" or ".oga" => "audio/ogg",
        ".m4a" => "audio/mp4",
        ".zip" => "application/zip",
        _ => "application/octet-stream",
    };
}
