using System.Diagnostics;
using System.Net;
using Lima2.Core.Frames;

namespace Lima2.Detectors.Jungfrau;

/// <summary>What the stand-in JUNGFRAU sends in each frame.</summary>
public enum JungfrauStandInContent
{
    /// <summary>The source's pixels are photon counts, turned into raw words by the <see cref="JungfrauModel"/>.</summary>
    Photons,

    /// <summary>The source's pixels (gray16) are raw words already (a file of raw frames), sent as they are.</summary>
    RawWords,

    /// <summary>Dark frames of a pedestal run: frame i holds every pixel in gain stage i % 3, the source is not read.</summary>
    Dark,
}

public sealed record JungfrauStandInOptions
{
    /// <summary>
    /// Where each module sends (module i has module id i), <see cref="Interfaces"/> ports per module: module i's
    /// interface k sends to port i · Interfaces + k. Loopback addresses only. A destination list of this one entry.
    /// </summary>
    public IReadOnlyList<IPEndPoint> Ports
    {
        get => Destinations[0];
        init => Destinations = [value];
    }

    /// <summary>
    /// The UDP destination list, each entry ports as <see cref="Ports"/> are: frame i goes to entry i mod n, as a
    /// JUNGFRAU with n destinations sends (full-frame round robin between n receivers).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<IPEndPoint>> Destinations { get; init; } = [];

    /// <summary>UDP interfaces per module, 1 or 2 (each of two carries half the module, 64 packets).</summary>
    public int Interfaces { get; init; } = 1;

    public long Frames { get; init; } = 100;

    /// <summary>Frames per second; null sends as fast as the sockets take them.</summary>
    public double? Rate { get; init; }

    /// <summary>Each packet is left out with this probability (a reproducible draw from <see cref="Seed"/>).</summary>
    public double LossFraction { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>Packets left out: (frame index from 0, module id, packet 0–127 of the module).</summary>
    public IReadOnlySet<(long Frame, int Module, int Packet)> Drop { get; init; } = new HashSet<(long, int, int)>();

    /// <summary>sls detectors number frames from 1 in an acquisition.</summary>
    public ulong FirstFrameNumber { get; init; } = 1;

    public JungfrauStandInContent Content { get; init; } = JungfrauStandInContent.Photons;
}

/// <summary>
/// <c>lima2 stream --jungfrau</c>: a JUNGFRAU of N modules over loopback UDP. Frame i of <paramref name="source"/>
/// (1024 × 512·N, module after module from the top) becomes frame number first + i: each module's raw words
/// (<see cref="JungfrauModel"/>), 128 datagrams of 8240 B per module to that module's port (or 64 to each of its two)
/// of the destination list's entry i mod n.
/// </summary>
public sealed class JungfrauStandIn : IDisposable
{
    private readonly IFrameSource? _source;
    private readonly JungfrauModel _model;
    private readonly JungfrauStandInOptions _options;
    private readonly JungfrauPacketSender[] _senders; // one per destination
    private readonly Random _loss;
    private long _framesSent;

    public JungfrauStandIn(IFrameSource? source, JungfrauModel model, JungfrauStandInOptions options)
    {
        if (options.Interfaces is not (1 or 2))
            throw new ArgumentOutOfRangeException(nameof(options), options.Interfaces, "a module sends over 1 or 2 UDP interfaces");
        if (options.Destinations.Count == 0 || options.Destinations.Any(d => d.Count != model.Modules * options.Interfaces))
            throw new ArgumentException($"{model.Modules} modules need {model.Modules * options.Interfaces} ports in each of at least one destination, " +
                                        $"{string.Join(", ", options.Destinations.Select(d => d.Count))} given", nameof(options));
        if (options.Destinations.SelectMany(d => d).FirstOrDefault(p => !IPAddress.IsLoopback(p.Address)) is { } remote)
            throw new ArgumentException($"the stand-in JUNGFRAU sends over loopback only, not to {remote}", nameof(options));
        if (options.LossFraction is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.LossFraction, "the loss fraction is in [0, 1)");
        ArgumentOutOfRangeException.ThrowIfNegative(options.Frames);
        if (options.Drop.Where(d => d.Module < 0 || d.Module >= model.Modules || d.Packet is < 0 or >= JungfrauModule.PacketsPerFrame)
                .Select(d => ((long, int Module, int Packet)?)d).FirstOrDefault() is { } wrong)
            throw new ArgumentException($"packet {wrong.Packet} of module {wrong.Module} cannot be left out: {model.Modules} modules of {JungfrauModule.PacketsPerFrame} packets");
        if (options.Content != JungfrauStandInContent.Dark)
        {
            var expected = new FrameInfo(JungfrauModule.Width, JungfrauModule.Height * model.Modules, PixelType.Gray16);
            if (source is null || source.Info.Width != expected.Width || source.Info.Height != expected.Height || source.Info.Channels != 1)
                throw new ArgumentException($"{model.Modules} modules need {expected.Width}x{expected.Height} frames, the source has {source?.Info.ToString() ?? "none"}");
            if (options.Content == JungfrauStandInContent.RawWords && source.Info.PixelType != PixelType.Gray16)
                throw new ArgumentException($"raw JUNGFRAU words are gray16, the source has {source.Info.PixelType.ToLimaName()}");
            if (source.Count is { } count && count < options.Frames)
                throw new ArgumentException($"the source has {count} frames, {options.Frames} are to be sent");
        }
        _source = source;
        _model = model;
        _options = options;
        _loss = new Random(options.Seed);
        _senders = [.. options.Destinations.Select(ports =>
            new JungfrauPacketSender(ports.Chunk(options.Interfaces).Select((modulePorts, id) => new ModuleDestination(id, modulePorts)).ToArray()))];
    }

    public long FramesSent => Interlocked.Read(ref _framesSent);
    public long PacketsSent => _senders.Sum(s => s.PacketsSent);
    public long PacketsDropped => _senders.Sum(s => s.PacketsDropped);
    public long BytesSent => PacketsSent * JungfrauModule.DatagramBytes;

    /// <summary>Sends every frame on a thread of its own, then completes; cancellation stops between frames.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>The raw words of frame <paramref name="index"/>, one array per module.</summary>
    public ushort[][] ModuleWords(long index)
    {
        var words = new ushort[_model.Modules][];
        for (var m = 0; m < words.Length; m++)
            words[m] = new ushort[JungfrauModule.Pixels];
        Fill(index, words, _source is null ? null : new byte[_source.Info.ByteSize]);
        return words;
    }

    private void Run(CancellationToken cancellationToken)
    {
        var words = Enumerable.Range(0, _model.Modules).Select(_ => new ushort[JungfrauModule.Pixels]).ToArray();
        var rendered = _source is null ? null : new byte[_source.Info.ByteSize];
        var drop = new HashSet<(int ModuleId, int Packet)>();
        var clock = Stopwatch.StartNew();
        for (long i = 0; i < _options.Frames; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Fill(i, words, rendered);
            drop.Clear();
            foreach (var (frame, module, packet) in _options.Drop)
                if (frame == i)
                    drop.Add((module, packet));
            if (_options.LossFraction > 0)
                for (var m = 0; m < _model.Modules; m++)
                    for (var p = 0; p < JungfrauModule.PacketsPerFrame; p++)
                        if (_loss.NextDouble() < _options.LossFraction)
                            drop.Add((m, p));
            if (_options.Rate is { } rate)
            {
                var due = TimeSpan.FromSeconds(i / rate);
                if (due > clock.Elapsed)
                    Thread.Sleep(due - clock.Elapsed);
            }
            _senders[i % _senders.Length].SendFrame(_options.FirstFrameNumber + (ulong)i, words, drop);
            Interlocked.Increment(ref _framesSent);
        }
    }

    private void Fill(long index, ushort[][] words, byte[]? rendered)
    {
        if (_options.Content == JungfrauStandInContent.Dark)
        {
            var stage = (int)(index % JungfrauGain.Stages);
            for (var m = 0; m < words.Length; m++)
                for (var i = 0; i < JungfrauModule.Pixels; i++)
                    words[m][i] = _model.Dark(m * JungfrauModule.Pixels + i, stage, index);
            return;
        }
        _source!.Render(index, rendered);
        var info = _source.Info;
        for (var m = 0; m < words.Length; m++)
        {
            var module = rendered.AsSpan(m * JungfrauModule.Pixels * info.PixelType.SizeOf(), JungfrauModule.Pixels * info.PixelType.SizeOf());
            if (_options.Content == JungfrauStandInContent.RawWords)
            {
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(module).CopyTo(words[m]);
                continue;
            }
            for (var i = 0; i < JungfrauModule.Pixels; i++)
                words[m][i] = _model.Raw(m * JungfrauModule.Pixels + i, PixelValue(module, info.PixelType, i));
        }
    }

    private static double PixelValue(ReadOnlySpan<byte> pixels, PixelType type, int i) => type switch
    {
        PixelType.Gray8 => pixels[i],
        PixelType.Gray8s => (sbyte)pixels[i],
        PixelType.Gray16 => BitConverter.ToUInt16(pixels.Slice(2 * i, 2)),
        PixelType.Gray16s => BitConverter.ToInt16(pixels.Slice(2 * i, 2)),
        PixelType.Gray32 => BitConverter.ToUInt32(pixels.Slice(4 * i, 4)),
        PixelType.Gray32s => BitConverter.ToInt32(pixels.Slice(4 * i, 4)),
        PixelType.Gray32f => BitConverter.ToSingle(pixels.Slice(4 * i, 4)),
        PixelType.Gray64f => BitConverter.ToDouble(pixels.Slice(8 * i, 8)),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public void Dispose()
    {
        foreach (var sender in _senders)
            sender.Dispose();
    }
}
