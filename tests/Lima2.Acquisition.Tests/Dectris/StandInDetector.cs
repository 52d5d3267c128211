using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.TestSupport;
using Lima2.Zmq;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>
/// The detector's end of a DECTRIS stream in tests: a PUSH socket bound to a free loopback port, used and disposed
/// on the test's thread only (a ZeroMQ socket must not be closed under a call in flight on another thread).
/// </summary>
internal sealed class StandInDetector : IDisposable
{
    private readonly ZmqContext _context = new();
    private readonly ZmqSocket _push;

    public StandInDetector(int lingerMilliseconds = 5000)
    {
        _push = _context.CreateSocket(ZmqSocketType.Push);
        _push.SetOption(ZmqOption.Linger, lingerMilliseconds);
        _push.SetOption(ZmqOption.SendTimeout, 10_000); // a test with no receiver fails instead of hanging
        // a port free a moment ago may have become another socket's ephemeral port since (tests run in parallel)
        for (var attempt = 1; ; attempt++)
        {
            Endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
            try
            {
                _push.Bind(Endpoint);
                return;
            }
            catch (ZmqException) when (attempt < 5)
            {
            }
        }
    }

    public string Endpoint { get; }

    /// <summary>Sends one multipart message.</summary>
    /// <exception cref="TimeoutException">no receiver took it within the send timeout.</exception>
    public void Send(IReadOnlyList<byte[]> parts)
    {
        for (var i = 0; i < parts.Count; i++)
            if (!_push.Send(parts[i], more: i < parts.Count - 1))
                throw new TimeoutException($"no receiver took the message on {Endpoint}");
    }

    /// <summary>
    /// A receiver's channel on this detector (<paramref name="options"/> name its endpoint): started, fed by
    /// <paramref name="send"/> on the test's thread, then run until the series ends (20 s at most) and disposed.
    /// </summary>
    public static async Task<ChannelRun> Receive(DectrisChannelOptions options, Action send)
    {
        var channel = new DectrisChannel(options);
        await using (channel)
        {
            var starting = channel.StartAsync(CancellationToken.None).AsTask();
            send();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var start = await starting.WaitAsync(timeout.Token);
            var target = new RecordingTarget(start.Frame);
            return new ChannelRun(target, await channel.RunAsync(target, timeout.Token), channel);
        }
    }

    public void Dispose()
    {
        _push.Dispose();
        _context.Dispose();
    }
}

/// <summary>What a channel delivered (<see cref="StandInDetector.Receive"/>); the channel, disposed, still says its counts and rejections.</summary>
internal sealed record ChannelRun(RecordingTarget Target, ChannelSummary Summary, DectrisChannel Channel);
