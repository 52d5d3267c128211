using Lima2.TestSupport;
using Lima2.Zmq;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>The detector's end of a DECTRIS stream in tests: a PUSH socket bound to a free loopback port.</summary>
internal sealed class StandInDetector : IDisposable
{
    private readonly ZmqContext _context = new();
    private readonly ZmqSocket _push;

    public StandInDetector(int lingerMilliseconds = 5000)
    {
        _push = _context.CreateSocket(ZmqSocketType.Push);
        _push.SetOption(ZmqOption.Linger, lingerMilliseconds);
        _push.Bind(Endpoint);
    }

    public string Endpoint { get; } = $"tcp://127.0.0.1:{FreePort.Next()}";

    /// <summary>Sends one multipart message.</summary>
    public void Send(IReadOnlyList<byte[]> parts)
    {
        for (var i = 0; i < parts.Count; i++)
            _push.Send(parts[i], more: i < parts.Count - 1);
    }

    public void Dispose()
    {
        _push.Dispose();
        _context.Dispose();
    }
}
