using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Bridge.Testing;

namespace Bridge.Tests.Translation;

/// <summary>
/// A small HTTP server on loopback that answers like a translation engine (LibreTranslate or chat completions): the
/// test decides the answer from the request. Not a mock of the bridge: the engines speak real HTTP and JSON to it.
/// </summary>
internal sealed class EngineStandIn : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<string, JsonNode, Task<JsonNode?>> _answer;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();

    public EngineStandIn(Func<string, JsonNode, Task<JsonNode?>> answer)
    {
        _answer = answer;
        var port = FreePorts.Next();
        Url = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    public List<JsonNode> Requests { get; } = [];

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = JsonNode.Parse(await reader.ReadToEndAsync()) ?? new JsonObject();
                lock (Requests)
                {
                    Requests.Add(body);
                }

                JsonNode? answer;
                try
                {
                    answer = await _answer(context.Request.Url!.AbsolutePath, body);
                }
                catch (Exception)
                {
                    answer = null;
                }

                try
                {
                    context.Response.StatusCode = answer is null ? 500 : 200;
                    context.Response.ContentType = "application/json";
                    var bytes = Encoding.UTF8.GetBytes((answer ?? new JsonObject { ["error"] = "stand-in failure" }).ToJsonString());
                    await context.Response.OutputStream.WriteAsync(bytes);
                    context.Response.Close();
                }
                catch (Exception)
                {
                    // The client gave up (time budget): nothing to answer.
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        // Close alone: Stop first removes the prefixes, and Close then removes them again, which makes the managed listener
        // bind the port anew just to drop them ("Address already in use" when another test has taken that port meanwhile).
        _listener.Close();
        await _loop.ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }
}
