using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// One UDP port's receive loop: a thread that feeds every datagram to its own <see cref="ModuleFrameAssembler"/> and
/// times out incomplete frames. Frames are handed on from this thread. Plain <c>Socket.Receive</c>, one datagram per
/// call (recvmmsg batching into pinned buffers is still to do).
/// </summary>
public sealed class JungfrauUdpListener : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly ModuleFrameAssembler _assembler;
    private readonly long _timeoutTicks;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private long _datagrams;
    private Exception? _failure;

    /// <param name="receiveBufferBytes">asked of the kernel; it grants at most <c>net.core.rmem_max</c> (see <see cref="ReceiveBufferBytes"/>)</param>
    public JungfrauUdpListener(IPEndPoint bind, ModuleFrameAssembler assembler, TimeSpan frameTimeout, int receiveBufferBytes = 64 << 20)
    {
        _assembler = assembler;
        _timeoutTicks = (long)(frameTimeout.TotalSeconds * Stopwatch.Frequency);
        _socket.ReceiveBufferSize = receiveBufferBytes;
        _socket.Bind(bind);
        _thread = new Thread(Run) { IsBackground = true, Name = $"jungfrau-udp-{Port}" };
        _thread.Start();
    }

    public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    /// <summary>The kernel's receive buffer as granted (Linux reports twice the size asked, capped by rmem_max).</summary>
    public int ReceiveBufferBytes => _socket.ReceiveBufferSize;

    public long DatagramsReceived => Interlocked.Read(ref _datagrams);

    /// <summary>Stops the loop, hands on every frame still in flight and rethrows what ended the loop, if anything did.</summary>
    public void Stop()
    {
        _stopping = true;
        _thread.Join();
        if (_failure is not null)
            throw new InvalidOperationException("the JUNGFRAU receive loop failed", _failure);
    }

    public void Dispose()
    {
        try
        {
            if (!_stopping)
                Stop();
        }
        finally
        {
            _socket.Dispose();
        }
    }

    private void Run()
    {
        var buffer = new byte[JungfrauModule.DatagramBytes + 1]; // one byte more, so that oversize datagrams show as such
        var pollTicks = (long)(PollInterval.TotalSeconds * Stopwatch.Frequency);
        var lastExpiry = Stopwatch.GetTimestamp();
        try
        {
            while (!_stopping)
            {
                if (_socket.Poll(PollInterval, SelectMode.SelectRead))
                {
                    var length = _socket.Receive(buffer);
                    _assembler.Accept(buffer.AsSpan(0, length), Stopwatch.GetTimestamp());
                    Interlocked.Increment(ref _datagrams);
                }
                var now = Stopwatch.GetTimestamp();
                if (now - lastExpiry >= pollTicks) // a pass over the window per poll interval, not per datagram
                {
                    _assembler.Expire(now - _timeoutTicks);
                    lastExpiry = now;
                }
            }
            _assembler.Finish();
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }
}
