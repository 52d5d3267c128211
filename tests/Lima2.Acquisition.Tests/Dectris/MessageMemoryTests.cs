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

    /// <param name="held">messages held at once: 3 as the channel's slots hold them while frames are decoded; 20 (80 MiB)
    /// as frames in the graph hold their kept chunks or raw pixels, more than one 64 MiB heap of a glibc arena other than
    /// the main one (which gave back its heaps beyond the first whenever all their messages were freed)</param>
    [Theory]
    [InlineData(3)]
    [InlineData(20)]
    public async Task With_a_channel_in_the_process_libzmqs_io_thread_reads_frames_into_pages_already_mapped(int held)
    {
        await using var channel = new DectrisChannel(new DectrisChannelOptions($"tcp://127.0.0.1:{FreePort.Next()}", DectrisStreamVersion.V1));
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
                var messages = Enumerable.Range(0, held).Select(_ => new ZmqMultipartMessage()).ToList();
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

        var warming = IoThreadUse();
        Cycles(3); // the heap grows to the messages held at once
        // this context's I/O thread is the one that worked (the channel's socket has no peer)
        var io = IoThreadUse().MaxBy(t => t.Value.CpuNs - warming.GetValueOrDefault(t.Key).CpuNs).Key;
        var before = MinorFaults(io);
        const int cycles = 10;
        Cycles(cycles);
        var perMessage = (MinorFaults(io) - before) / (double)(cycles * held);
        output.WriteLine($"{perMessage:F1} page faults per message, {held} held at once");

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
        var sender = NewIoThread(others);

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

    /// <summary>
    /// The libzmq I/O thread that is not one of <paramref name="others"/>, once it has named itself (the new thread
    /// does, after its context's first socket is made; 30 s bound a hang only).
    /// </summary>
    private static int NewIoThread(HashSet<int> others)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var id = IoThreads().Keys.FirstOrDefault(id => !others.Contains(id));
            if (id != 0)
                return id;
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "no new libzmq I/O thread named itself within 30 s");
            Thread.Sleep(10);
        }
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
