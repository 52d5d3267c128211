using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// One UDP port's receive loop: a thread that feeds every datagram to its own <see cref="ModuleFrameAssembler"/> and
/// times out incomplete frames. Frames are handed on from this thread. The socket is bound at construction (packets
/// that come before <see cref="Start"/> wait in the kernel's buffer). Datagrams are taken in batches of up to
/// <see cref="BatchSize"/> per system call (recvmmsg, <see cref="DatagramBatchReceiver"/>); the loop waits in poll
/// only when a call found nothing. Frames time out only once the loop has taken every datagram waiting.
/// </summary>
public sealed class JungfrauUdpListener : IDisposable
{
    private const string RmemMaxPath = "/proc/sys/net/core/rmem_max";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    /// <summary>Datagrams per recvmmsg call: 64 × 8241 B of pinned buffer, half a module-frame.</summary>
    public const int BatchSize = 64;
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly DatagramBatchReceiver _batch;
    private readonly ModuleFrameAssembler _assembler;
    private readonly long _timeoutTicks;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private long _datagrams;
    private long _batches;
    private long _lastDatagramTicks;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _failure;

    /// <param name="receiveBufferBytes">asked of the kernel; Linux grants at most <c>net.core.rmem_max</c> (see <see cref="ReceiveBufferWarning"/>)</param>
    public JungfrauUdpListener(IPEndPoint bind, ModuleFrameAssembler assembler, TimeSpan frameTimeout, int receiveBufferBytes = 64 << 20)
        : this(bind, assembler, frameTimeout, receiveBufferBytes, useRecvmmsg: true)
    {
    }

    /// <param name="useRecvmmsg">false takes one datagram per system call, as where recvmmsg is missing (tests of that path)</param>
    internal JungfrauUdpListener(IPEndPoint bind, ModuleFrameAssembler assembler, TimeSpan frameTimeout, int receiveBufferBytes, bool useRecvmmsg)
    {
        _assembler = assembler;
        _timeoutTicks = (long)(frameTimeout.TotalSeconds * Stopwatch.Frequency);
        try
        {
            _socket.ReceiveBufferSize = receiveBufferBytes;
            _socket.Bind(bind);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        // one byte more than a datagram, so that oversize datagrams show as such
        _batch = new DatagramBatchReceiver(_socket, JungfrauModule.DatagramBytes + 1, BatchSize, useRecvmmsg);
        ReceiveBufferWarning = BufferWarning(Port, receiveBufferBytes, ReceiveBufferBytes);
        _thread = new Thread(Run) { IsBackground = true, Name = $"jungfrau-udp-{Port}" };
    }

    /// <summary>The port as bound (the kernel's choice when 0 was asked).</summary>
    public int Port { get; }

    private bool Started => (_thread.ThreadState & System.Threading.ThreadState.Unstarted) == 0;

    public ModuleFrameAssembler Assembler => _assembler;

    /// <summary>The kernel's receive buffer as granted (Linux reports twice the size asked, capped by rmem_max).</summary>
    public int ReceiveBufferBytes => _socket.ReceiveBufferSize;

    /// <summary>Says that the kernel granted less receive buffer than asked and how to fix it; null when it granted all.</summary>
    public string? ReceiveBufferWarning { get; }

    public long DatagramsReceived => Interlocked.Read(ref _datagrams);

    /// <summary>Receive calls that returned datagrams (one system call each when <see cref="ReceivesInBatches"/>): <see cref="DatagramsReceived"/> / this is the mean batch.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Whether datagrams come through recvmmsg (false where it is missing: one system call per datagram).</summary>
    public bool ReceivesInBatches => _batch.Batched;

    /// <summary>When the last datagram came (<see cref="Stopwatch"/> ticks), or when the loop started.</summary>
    public long LastDatagramTicks => Interlocked.Read(ref _lastDatagramTicks);

    /// <summary>Starts the receive loop.</summary>
    public void Start()
    {
        Interlocked.Exchange(ref _lastDatagramTicks, Stopwatch.GetTimestamp());
        _thread.Start();
    }

    /// <summary>
    /// Linux doubles the size asked (bookkeeping) and caps it at twice <c>net.core.rmem_max</c>: a granted size below
    /// twice the asked one means the cap cut it.
    /// </summary>
    internal static string? BufferWarning(int port, long asked, long granted)
    {
        var usable = OperatingSystem.IsLinux() ? granted / 2 : granted;
        if (usable >= asked)
            return null;
        var rmemMax = File.Exists(RmemMaxPath) ? File.ReadAllText(RmemMaxPath).Trim() : "unknown";
        return string.Create(CultureInfo.InvariantCulture,
            $"UDP port {port} got a receive buffer of {usable} bytes, {asked} were asked: net.core.rmem_max is {rmemMax} bytes; " +
            $"raise it (sysctl -w net.core.rmem_max={asked}) or packets will be lost at high frame rates");
    }

    /// <summary>Completes once the loop has ended and handed on every frame it held (faulted with what ended it, if anything did).</summary>
    public Task Completion => _ended.Task;

    /// <summary>Asks the loop to end, without waiting: it hands on the frames in flight, then <see cref="Completion"/> completes.</summary>
    public void RequestStop()
    {
        _stopping = true;
        if (!Started)
            _ended.TrySetResult();
    }

    /// <summary>Stops the loop, hands on every frame still in flight and rethrows what ended the loop, if anything did.</summary>
    public void Stop()
    {
        RequestStop();
        if (Started) // never started: the assembler holds nothing
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
        var pollTicks = (long)(PollInterval.TotalSeconds * Stopwatch.Frequency);
        var lastExpiry = Stopwatch.GetTimestamp();
        try
        {
            while (!_stopping)
            {
                var count = _batch.Receive();
                // a frame times out only when the socket held nothing more: its missing packets did not come. Datagrams
                // still waiting in the kernel's buffer (the thread was held up past the timeout) are read first.
                var drained = count < _batch.Capacity;
                if (count > 0)
                {
                    var received = Stopwatch.GetTimestamp();
                    for (var i = 0; i < count; i++)
                        _assembler.Accept(_batch[i], received);
                    Interlocked.Add(ref _datagrams, count);
                    Interlocked.Increment(ref _batches);
                    Interlocked.Exchange(ref _lastDatagramTicks, received);
                }
                else
                    _socket.Poll(PollInterval, SelectMode.SelectRead);
                var now = Stopwatch.GetTimestamp();
                if (drained && now - lastExpiry >= pollTicks) // a pass over the window per poll interval, not per datagram
                {
                    _assembler.Expire(now - _timeoutTicks);
                    lastExpiry = now;
                }
            }
            _assembler.Finish();
            _ended.TrySetResult();
        }
        catch (Exception e)
        {
            _failure = e;
            _ended.TrySetException(e);
        }
    }
}
