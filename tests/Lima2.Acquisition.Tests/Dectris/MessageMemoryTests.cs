using System.Globalization;
using Lima2.Detectors.Dectris;
using Lima2.TestSupport;
using Lima2.Zmq;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>
/// Once a DECTRIS channel exists, the messages libzmq reads go into memory freed by the messages before them rather
/// than into fresh pages that fault as the kernel copies the stream into them.
/// </summary>
public sealed class MessageMemoryTests
{
    private const int MessageBytes = 4 << 20; // about a bslz4 4M-pixel frame and a half
    private const int Held = 3; // messages held at once, as the channel's slots hold them while frames are decoded

    [Fact]
    public async Task With_a_channel_in_the_process_libzmqs_io_thread_reads_frames_into_pages_already_mapped()
    {
        await using var channel = new DectrisChannel(new DectrisChannelOptions($"tcp://127.0.0.1:{FreePort.Next()}", DectrisStreamVersion.V1));
        var threadsBefore = IoThreads().Keys.ToHashSet();
        using var context = new ZmqContext();
        using var pull = context.CreateSocket(ZmqSocketType.Pull);
        using var push = context.CreateSocket(ZmqSocketType.Push);
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        pull.Bind(endpoint);
        push.Connect(endpoint);
        pull.SetOption(ZmqOption.ReceiveTimeout, 10_000);
        var payload = new byte[MessageBytes];
        new Random(5).NextBytes(payload);

        void Cycles(int count)
        {
            for (var cycle = 0; cycle < count; cycle++)
            {
                var messages = Enumerable.Range(0, Held).Select(_ => new ZmqMultipartMessage()).ToList();
                foreach (var message in messages)
                {
                    Assert.True(push.Send(payload));
                    Assert.True(pull.Receive(message));
                    Assert.Equal(MessageBytes, message[0].Length);
                }
                foreach (var message in messages)
                    message.Dispose();
            }
        }

        Cycles(3); // the heap grows to the messages held at once
        var io = Assert.Single(IoThreads(), t => !threadsBefore.Contains(t.Key)).Key;
        var before = MinorFaults(io);
        const int cycles = 10;
        Cycles(cycles);
        var perMessage = (MinorFaults(io) - before) / (double)(cycles * Held);

        // a message read into fresh pages faults once per 4 KiB page: 1024 times
        Assert.True(perMessage < MessageBytes / 4096 / 10, $"libzmq's I/O thread faulted {perMessage:F0} pages per {MessageBytes >> 20} MiB message");
    }

    /// <summary>The process's libzmq I/O threads, by thread id.</summary>
    private static Dictionary<int, string> IoThreads() => Directory.EnumerateDirectories("/proc/self/task")
        .Select(task => (Id: int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture), Name: File.ReadAllText(Path.Combine(task, "comm")).Trim()))
        .Where(t => t.Name.StartsWith("ZMQbg/IO", StringComparison.Ordinal))
        .ToDictionary(t => t.Id, t => t.Name);

    /// <summary>A thread's minor page faults so far (field 10 of /proc/self/task/ID/stat).</summary>
    private static long MinorFaults(int thread)
    {
        var stat = File.ReadAllText($"/proc/self/task/{thread}/stat");
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7], CultureInfo.InvariantCulture);
    }
}
