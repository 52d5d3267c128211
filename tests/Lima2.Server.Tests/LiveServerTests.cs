using System.Diagnostics.CodeAnalysis;
using System.Net;
using Lima2.Core.Frames;
using Lima2.LiveView;

namespace Lima2.Server.Tests;

/// <summary>The live view's bounds and where it listens, without a Tango system.</summary>
public sealed class LiveServerTests
{
    /// <summary>A device with counters that grow at each reading and no frame yet.</summary>
    private sealed class CountingSource : ILiveSource
    {
        private long _reads;

        public string Name => "test/limareceiver/live@0";

        public LiveCounters ReadCounters() => LiveCounters.None with { State = "running", Processed = Interlocked.Increment(ref _reads) };

        public bool TryGetLatestFrame([MaybeNullWhen(false)] out Frame frame)
        {
            frame = null;
            return false;
        }

        public LiveOverlay Overlay(long frameIndex) => LiveOverlay.None;
    }

    [Fact]
    public async Task Pages_beyond_the_limit_are_refused_and_a_page_that_never_reads_holds_nothing_back()
    {
        using var server = LiveServer.Start(new CountingSource(), "127.0.0.1", 0, TimeSpan.FromMilliseconds(20));
        using var http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(20) };
        // 16 pages open their event streams and never read them
        var streams = new List<HttpResponseMessage>();
        for (var i = 0; i < LiveServer.MaxEventClients; i++)
        {
            var response = await http.GetAsync("events", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            streams.Add(response);
        }
        try
        {
            // the 17th is refused at once rather than queued
            var refused = await http.GetAsync("events", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            // while they do not read, the feed goes on sampling and /status answers with the newest sample
            var first = await http.GetStringAsync("status");
            await WaitForAsync(async () => await http.GetStringAsync("status") != first); // sampled every 20 ms, later when loaded
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("last_frame")).StatusCode);
            Assert.True(server.Feed.History().Length <= LiveFeed.HistoryLength);
        }
        finally
        {
            foreach (var s in streams)
                s.Dispose();
        }
        // once they are gone, a page is served again
        await WaitForAsync(async () => (await http.GetAsync("events", HttpCompletionOption.ResponseHeadersRead)) is { StatusCode: HttpStatusCode.OK } ok && Dispose(ok));
    }

    [Theory]
    [InlineData(new string[0], "giop:tcp:lid00rcv1:", "lid00rcv1")]
    [InlineData(new string[0], "giop:tcp:10.1.2.3:9000", "10.1.2.3")]
    [InlineData(new string[0], "giop:tcp:[::1]:", "[::1]")]
    [InlineData(new string[0], "giop:tcp::", "")]
    [InlineData(new string[0], null, "")]
    [InlineData(new[] { "recv0", "-ORBendPoint", "giop:tcp:127.0.0.1:" }, "giop:tcp:lid00rcv1:", "127.0.0.1")]
    public void The_live_view_listens_on_the_host_of_the_servers_ORBendPoint(string[] args, string? environment, string host) =>
        Assert.Equal(host, LiveHost.FromEndpoint(args, environment));

    private static bool Dispose(HttpResponseMessage response)
    {
        response.Dispose();
        return true;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "waited 30 s");
            await Task.Delay(100);
        }
    }
}
