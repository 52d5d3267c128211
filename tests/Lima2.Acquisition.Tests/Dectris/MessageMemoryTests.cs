using System.Globalization;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;
using Lima2.TestSupport;
using Lima2.Zmq;
using Xunit.Abstractions;

namespace Lima2.Acquisition.Tests.Dectris;

// alone: the figures are read from libzmq's I/O threads of this process, told apart as the one that is new or the one at work
[CollectionDefinition(nameof(MessageMemoryTests), DisableParallelization = true)]
public sealed class MessageMemoryCollection;

/// <summary>
/// Once a DECTRIS channel exists, the messages libzmq reads go into memory freed by the messages before them rather
/// than into fresh pages that fault as the kernel copies the stream into them; a receiver's runs read on one I/O thread,
/// so that they reuse the heap it grew.
/// </summary>
[Collection(nameof(MessageMemoryTests))]
public sealed class MessageMemoryTests(ITestOutputHelper output)
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

    [Fact]
    public async Task A_receivers_next_run_reads_its_stream_on_the_io_thread_of_the_last_run_and_into_the_heap_it_grew()
    {
        // before: every run's channel made a context whose new I/O thread could take another glibc arena and fault the
        // pages of the messages it held afresh
        var info = new FrameInfo(1024, 1024, PixelType.Gray16);
        const int frames = 12;
        var others = IoThreads().Keys.ToHashSet();
        using var detector = new StandInDetector();
        var sender = Assert.Single(IoThreads().Keys, id => !others.Contains(id));

        async Task<(int Reader, long Faults)> Run()
        {
            var before = IoThreadUse();
            await using var channel = new DectrisChannel(new DectrisChannelOptions(detector.Endpoint, DectrisStreamVersion.V1, TimeoutMs: 30_000));
            var starting = channel.StartAsync(CancellationToken.None).AsTask();
            detector.Send(StreamV1Writer.Header(1, "basic", info, frames));
            for (var f = 0; f < frames; f++)
                detector.Send(DectrisSamples.V1Image(f, DectrisEncoding.Raw, info));
            detector.Send([StreamV1Writer.End(1)]);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // bounds a hang only
            var start = await starting.WaitAsync(timeout.Token);
            var target = new RecordingTarget(start.Frame);
            await channel.RunAsync(target, timeout.Token);
            Assert.Equal(frames, target.Frames.Count);
            // the channel's socket is still open: its I/O thread is the one that worked, beside the detector's
            var reader = IoThreadUse().Where(t => t.Key != sender)
                .MaxBy(t => t.Value.CpuNs - before.GetValueOrDefault(t.Key).CpuNs);
            return (reader.Key, reader.Value.MinorFaults - before.GetValueOrDefault(reader.Key).MinorFaults);
        }

        var first = await Run();
        var second = await Run();
        output.WriteLine($"I/O thread {first.Reader}: {first.Faults} page faults in the first run; I/O thread {second.Reader}: {second.Faults} in the second");

        Assert.True(first.Reader == second.Reader,
            $"the second run read on I/O thread {second.Reader} ({second.Faults} page faults), the first on {first.Reader} ({first.Faults})");
    }

    /// <summary>The process's libzmq I/O threads, by thread id.</summary>
    private static Dictionary<int, string> IoThreads() => Directory.EnumerateDirectories("/proc/self/task")
        .Select(task => (Id: int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture), Name: ReadOrNull(Path.Combine(task, "comm"))?.Trim()))
        .Where(t => t.Name?.StartsWith("ZMQbg/IO", StringComparison.Ordinal) == true)
        .ToDictionary(t => t.Id, t => t.Name!);

    /// <summary>A thread's minor page faults so far (field 10 of /proc/self/task/ID/stat).</summary>
    private static long MinorFaults(int thread)
    {
        var stat = File.ReadAllText($"/proc/self/task/{thread}/stat");
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7], CultureInfo.InvariantCulture);
    }

    /// <summary>The CPU time (nanoseconds on a CPU, schedstat's first field) and minor page faults of each libzmq I/O thread so far.</summary>
    private static Dictionary<int, (long CpuNs, long MinorFaults)> IoThreadUse()
    {
        var use = new Dictionary<int, (long, long)>();
        foreach (var id in IoThreads().Keys)
            if (ReadOrNull($"/proc/self/task/{id}/schedstat") is { } schedstat)
                use[id] = (long.Parse(schedstat.Split(' ')[0], CultureInfo.InvariantCulture), MinorFaults(id));
        return use;
    }

    /// <summary>A /proc file's text, or null when its thread has ended.</summary>
    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
