using System.Net.WebSockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>
/// Debian's chromium, headless, with one page open, driven over the DevTools protocol (its WebSocket): the test
/// waits for what the page shows rather than for a fixed time, reads the page's elements, and takes screenshots.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    private readonly ChildProcess _browser;
    private readonly string _profile;
    private readonly ClientWebSocket _page = new();
    private int _lastId;

    private HeadlessChromium(ChildProcess browser, string profile)
    {
        _browser = browser;
        _profile = profile;
    }

    /// <summary>Starts chromium on <paramref name="url"/> in a window of the given size.</summary>
    public static async Task<HeadlessChromium> OpenAsync(string url, int width, int height)
    {
        var profile = Directory.CreateTempSubdirectory("lima2-chromium-").FullName;
        var browser = ChildProcess.Start("chromium",
            ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", $"--user-data-dir={profile}",
             "--remote-debugging-port=0", "--remote-allow-origins=*", $"--window-size={width},{height}", url]);
        var chromium = new HeadlessChromium(browser, profile);
        try
        {
            browser.WaitForOutput("DevTools listening on ", TimeSpan.FromSeconds(60));
            var endpoint = new Uri(Regex.Match(browser.Output, @"DevTools listening on (ws://\S+)").Groups[1].Value);
            using var http = new HttpClient();
            // the DevTools server may answer before the tab of the URL exists (a loaded machine): ask until it does
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            JsonElement? page;
            while ((page = JsonDocument.Parse(await http.GetStringAsync($"http://{endpoint.Authority}/json/list")).RootElement
                       .EnumerateArray().Cast<JsonElement?>().FirstOrDefault(t => t!.Value.GetProperty("type").GetString() == "page")) is null)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException("chromium opened no page in 60 s");
                await Task.Delay(200);
            }
            await chromium._page.ConnectAsync(new Uri(page.Value.GetProperty("webSocketDebuggerUrl").GetString()!), CancellationToken.None);
            return chromium;
        }
        catch
        {
            chromium.Dispose();
            throw;
        }
    }

    /// <summary>The value of a JavaScript expression in the page (JSON-serialisable values).</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true });
        if (result.TryGetProperty("exceptionDetails", out var error))
            throw new InvalidOperationException($"{expression}: {error}");
        var value = result.GetProperty("result");
        return value.TryGetProperty("value", out var v) ? v : default;
    }

    /// <summary>Waits until <paramref name="condition"/> (JavaScript) is true in the page.</summary>
    public async Task WaitForAsync(string condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        // false while the page is still loading (its elements missing)
        while ((await EvaluateAsync($"(() => {{ try {{ return !!({condition}); }} catch {{ return false; }} }})()")).GetBoolean() is false)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"waited {timeout.TotalSeconds} s for the page to show {what}");
            await Task.Delay(200);
        }
    }

    /// <summary>The text of the page's element of id <paramref name="id"/>.</summary>
    public async Task<string> TextAsync(string id) => (await EvaluateAsync($"document.getElementById('{id}').textContent")).GetString()!;

    /// <summary>A PNG of the window as it is shown.</summary>
    public async Task<byte[]> ScreenshotAsync() =>
        Convert.FromBase64String((await SendAsync("Page.captureScreenshot", new { format = "png" })).GetProperty("data").GetString()!);

    private async Task<JsonElement> SendAsync(string method, object parameters)
    {
        var id = ++_lastId;
        var request = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _page.SendAsync(request, WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await _page.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, received.Count);
            } while (!received.EndOfMessage);
            // events (no id) and answers to nothing we wait for are skipped
            var answer = JsonDocument.Parse(message.ToArray()).RootElement;
            if (!answer.TryGetProperty("id", out var answered) || answered.GetInt32() != id)
                continue;
            if (answer.TryGetProperty("error", out var error))
                throw new InvalidOperationException($"{method}: {error}");
            return answer.GetProperty("result").Clone();
        }
    }

    public void Dispose()
    {
        _page.Dispose();
        _browser.Signal(15);
        try
        {
            _browser.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // Dispose kills it
        }
        _browser.Dispose();
        Directory.Delete(_profile, recursive: true);
    }
}
