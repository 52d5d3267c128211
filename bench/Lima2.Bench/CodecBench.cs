using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Simulator;

namespace Lima2.Bench;

/// <summary>
/// <c>lima2-bench codec</c>: µs per frame of each step of the bitshuffle/LZ4 codec on one thread — bit-unshuffle,
/// bit-shuffle, LZ4 decompression of the blocks, whole decode and encode — beside the C bitshuffle library called
/// on the same bytes (Debian's HDF5 plugin, or any build of the library), round by round so that both see the
/// same load.
/// </summary>
internal static class CodecBench
{
    /// <summary>hdf5-filter-plugin's build of the bitshuffle library (Debian compiles it for SSE2 only).</summary>
    public const string DebianLibrary = "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins/libh5bshuf.so";

    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "timed frames per step and implementation", DefaultValueFactory = _ => 30 };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 2048 };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 2048 };
        var bytes = new Option<int>("--pixel-bytes") { Description = "1, 2 or 4 (uint8, uint16, uint32 frames)", DefaultValueFactory = _ => 2 };
        var libraries = new Option<string[]>("--library")
        {
            Description = "bitshuffle C libraries to time beside ours (path to a .so exporting bshuf_*)",
            DefaultValueFactory = _ => File.Exists(DebianLibrary) ? [DebianLibrary] : [],
            AllowMultipleArgumentsPerToken = true,
        };
        var oursOnly = new Option<bool>("--ours-only") { Description = "time ours alone, no C library" };
        var command = new Command("codec", "time the bitshuffle/LZ4 codec per frame on one thread, beside the C bitshuffle library");
        foreach (var option in new Option[] { rounds, width, height, bytes, libraries, oursOnly })
            command.Options.Add(option);
        command.SetAction(result =>
        {
            var pixelType = result.GetValue(bytes) switch
            {
                1 => PixelType.Gray8, 2 => PixelType.Gray16, 4 => PixelType.Gray32,
                var other => throw new ArgumentException($"--pixel-bytes {other}: 1, 2 or 4"),
            };
            var info = new FrameInfo(result.GetValue(width), result.GetValue(height), pixelType);
            Console.WriteLine(Run(info, result.GetValue(rounds), result.GetValue(oursOnly) ? [] : result.GetValue(libraries) ?? []));
            return 0;
        });
        return command;
    }

    /// <summary>Runs every step for <paramref name="rounds"/> rounds; returns a markdown table of medians and minima.</summary>
    public static string Run(FrameInfo info, int rounds, IReadOnlyList<string> libraries)
    {
        var source = FrameGenerator.Create(new GeneratorParams
        {
            Type = GeneratorType.Diffraction, Width = info.Width, Height = info.Height, PixelType = info.PixelType,
        });
        var elemSize = info.PixelType.SizeOf();
        var block = BitshuffleLz4.DefaultBlockElements(elemSize);
        var pixels = GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
        source.Render(0, pixels);
        var shuffled = GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
        var output = GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
        var chunk = GC.AllocateUninitializedArray<byte>(BitshuffleLz4.MaxEncodedLength(info.ByteSize, elemSize), pinned: true);
        var encoded = GC.AllocateUninitializedArray<byte>(chunk.Length, pinned: true);
        var scratch = new byte[block * elemSize];
        Blocks(pixels, shuffled, elemSize, block, (s, d) => Bitshuffle.Shuffle(s, d, elemSize, scratch));
        var length = BitshuffleLz4.Encode(pixels, chunk, elemSize);
        // A block from the middle of the frame (rings and background, not the empty corner).
        var blockBytes = block * elemSize;
        var middle = info.ByteSize / 2 / blockBytes * blockBytes;
        var blocks = info.ByteSize / blockBytes;
        var pixelBlock = pixels.AsSpan(middle, blockBytes).ToArray();
        var shuffledBlock = shuffled.AsSpan(middle, blockBytes).ToArray();
        var outputBlock = new byte[blockBytes];

        var steps = new List<(string Name, Action Ours, Func<NativeBitshuffle, Action>? Native)>
        {
            // The decoder unshuffles each block while it is in L1 (just out of LZ4): time that, the same block over and
            // over as many times as a frame has blocks, not a pass over the whole frame that memory bandwidth bounds.
            ("bit-unshuffle (one block in L1, × blocks per frame)", () => Repeat(blocks, () => Bitshuffle.Unshuffle(shuffledBlock, outputBlock, elemSize, scratch)),
                c => () => Repeat(blocks, () => c.Unshuffle(shuffledBlock, outputBlock, elemSize, block))),
            ("bit-shuffle (one block in L1, × blocks per frame)", () => Repeat(blocks, () => Bitshuffle.Shuffle(pixelBlock, outputBlock, elemSize, scratch)),
                c => () => Repeat(blocks, () => c.Shuffle(pixelBlock, outputBlock, elemSize, block))),
            ("LZ4 decompression of the blocks (liblz4)", () => DecompressBlocks(chunk.AsSpan(0, length), scratch, Lz4.DecompressWithLiblz4), null),
            ("LZ4 decompression of the blocks (C#)", () => DecompressBlocks(chunk.AsSpan(0, length), scratch, Lz4.Decompress), null),
            ("bslz4 decode (LZ4 + bit-unshuffle)", () => BitshuffleLz4.Decode(chunk.AsSpan(0, length), output, elemSize),
                c => () => c.Decode(chunk.AsSpan(0, length), output, elemSize, block)),
            ("bslz4 encode (bit-shuffle + LZ4)", () => BitshuffleLz4.Encode(pixels, encoded, elemSize),
                null),
        };
        var natives = libraries.Select(path => new NativeBitshuffle(path)).ToList();
        Check(natives, pixels, shuffled, chunk.AsSpan(0, length), elemSize, block);

        // One timing list per (step, implementation); implementation 0 is ours.
        var times = steps.Select(s => Enumerable.Range(0, 1 + natives.Count).Select(_ => new List<double>()).ToArray()).ToArray();
        var actions = steps.Select(s => new[] { s.Ours }.Concat(natives.Select(n => s.Native?.Invoke(n))).ToArray()).ToArray();
        // Half a second of each first, so that the JIT's tiering has put its optimized code in.
        foreach (var action in actions.SelectMany(a => a).OfType<Action>())
            for (var warm = Stopwatch.StartNew(); warm.Elapsed < TimeSpan.FromSeconds(0.5);)
                action();
        var loadBefore = LoadAverage();
        for (var round = 0; round < rounds; round++)
            for (var s = 0; s < steps.Count; s++)
                for (var i = 0; i < actions[s].Length; i++)
                {
                    if (actions[s][i] is not { } action)
                        continue;
                    var clock = Stopwatch.StartNew();
                    action();
                    times[s][i].Add(clock.Elapsed.TotalMicroseconds);
                }
        var text = new StringBuilder();
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"One {info} frame ({info.ByteSize / 1e6:F1} MB, diffraction simulator frame 0, compression ratio {(double)info.ByteSize / length:F2}, " +
            $"blocks of {block} elements), one thread, {rounds} rounds, {cpu}, {Bitshuffle.Instructions}; load average {loadBefore} before, {LoadAverage()} after."));
        text.AppendLine();
        text.Append("| step (µs per frame, median / min) | ours |");
        foreach (var n in natives)
            text.Append(CultureInfo.InvariantCulture, $" C `{Path.GetFileName(n.Path)}` | ours / C |");
        text.AppendLine();
        text.AppendLine("|---|---|" + string.Concat(natives.Select(_ => "---|---|")));
        for (var s = 0; s < steps.Count; s++)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {steps[s].Name} | {Cell(times[s][0])} |");
            for (var i = 1; i < actions[s].Length; i++)
                text.Append(times[s][i].Count == 0
                    ? " – | – |"
                    : string.Create(CultureInfo.InvariantCulture, $" {Cell(times[s][i])} | {Median(times[s][0]) / Median(times[s][i]):F2} |"));
            text.AppendLine();
        }
        return text.ToString();
    }

    private static string Cell(List<double> values) =>
        string.Create(CultureInfo.InvariantCulture, $"{Median(values):F0} / {values.Min():F0}");

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static void Repeat(int times, Action action)
    {
        for (var i = 0; i < times; i++)
            action();
    }

    private delegate int Lz4Decompress(ReadOnlySpan<byte> source, Span<byte> destination);

    private delegate void BlockAction(ReadOnlySpan<byte> source, Span<byte> destination);

    /// <summary>The C library's blocking: whole blocks, then the rest cut to a multiple of 8 elements; the last elements are copied.</summary>
    private static void Blocks(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, int block, BlockAction action)
    {
        var elements = source.Length / elemSize;
        var done = 0;
        while (elements - done >= 8)
        {
            var count = Math.Min(block, (elements - done) / 8 * 8);
            action(source.Slice(done * elemSize, count * elemSize), destination.Slice(done * elemSize, count * elemSize));
            done += count;
        }
        source[(done * elemSize)..].CopyTo(destination[(done * elemSize)..]);
    }

    /// <summary>LZ4 alone: every block of the chunk decompressed into one L1-sized buffer, as the decoder does.</summary>
    private static void DecompressBlocks(ReadOnlySpan<byte> chunk, Span<byte> block, Lz4Decompress decompress)
    {
        var at = BitshuffleLz4.HeaderLength;
        var left = BitshuffleLz4.ReadDecodedLength(chunk);
        while (left >= block.Length)
        {
            var compressed = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(chunk[at..]);
            left -= decompress(chunk.Slice(at + 4, compressed), block);
            at += 4 + compressed;
        }
    }

    /// <summary>Ours and every C library give the same bytes on this frame, or the figures mean nothing.</summary>
    private static void Check(List<NativeBitshuffle> natives, byte[] pixels, byte[] shuffled, ReadOnlySpan<byte> chunk, int elemSize, int block)
    {
        var ours = new byte[pixels.Length];
        BitshuffleLz4.Decode(chunk, ours, elemSize);
        if (!ours.AsSpan().SequenceEqual(pixels))
            throw new InvalidOperationException("our bslz4 decode does not give the frame back");
        foreach (var native in natives)
        {
            var theirs = new byte[pixels.Length];
            native.Shuffle(pixels, theirs, elemSize, block);
            if (!theirs.AsSpan().SequenceEqual(shuffled))
                throw new InvalidOperationException($"{native.Path}: bit-shuffle differs from ours");
            native.Unshuffle(shuffled, theirs, elemSize, block);
            if (!theirs.AsSpan().SequenceEqual(pixels))
                throw new InvalidOperationException($"{native.Path}: bit-unshuffle differs from ours");
            theirs.AsSpan().Clear();
            native.Decode(chunk, theirs, elemSize, block);
            if (!theirs.AsSpan().SequenceEqual(pixels))
                throw new InvalidOperationException($"{native.Path}: decode of our chunk differs from the frame");
        }
    }

    /// <summary>The C-ABI entry points of a bitshuffle library build (bitshuffle_core.h, bitshuffle.h); sizes in elements.</summary>
    private sealed unsafe class NativeBitshuffle
    {
        private readonly delegate* unmanaged<byte*, byte*, nuint, nuint, nuint, long> _shuffle;
        private readonly delegate* unmanaged<byte*, byte*, nuint, nuint, nuint, long> _unshuffle;
        private readonly delegate* unmanaged<byte*, byte*, nuint, nuint, nuint, long> _decompress;

        public NativeBitshuffle(string path)
        {
            Path = path;
            // Loaded for the life of the process: a benchmark's peer, never unloaded.
            var library = NativeLibrary.Load(path);
            _shuffle = (delegate* unmanaged<byte*, byte*, nuint, nuint, nuint, long>)NativeLibrary.GetExport(library, "bshuf_bitshuffle");
            _unshuffle = (delegate* unmanaged<byte*, byte*, nuint, nuint, nuint, long>)NativeLibrary.GetExport(library, "bshuf_bitunshuffle");
            _decompress = (delegate* unmanaged<byte*, byte*, nuint, nuint, nuint, long>)NativeLibrary.GetExport(library, "bshuf_decompress_lz4");
        }

        public string Path { get; }

        public void Shuffle(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, int block) =>
            Call(_shuffle, source, destination, elemSize, block, "bshuf_bitshuffle");

        public void Unshuffle(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, int block) =>
            Call(_unshuffle, source, destination, elemSize, block, "bshuf_bitunshuffle");

        /// <summary>Decodes a whole chunk: the library reads the blocks after the 12-byte header.</summary>
        public void Decode(ReadOnlySpan<byte> chunk, Span<byte> destination, int elemSize, int block) =>
            Call(_decompress, chunk[BitshuffleLz4.HeaderLength..], destination, elemSize, block, "bshuf_decompress_lz4");

        private static void Call(delegate* unmanaged<byte*, byte*, nuint, nuint, nuint, long> function,
            ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, int block, string name)
        {
            fixed (byte* src = source)
            fixed (byte* dst = destination)
            {
                var result = function(src, dst, (nuint)(destination.Length / elemSize), (nuint)elemSize, (nuint)block);
                if (result < 0)
                    throw new InvalidOperationException($"{name} returned {result}");
            }
        }
    }
}
