using System.Buffers;
using System.Runtime.InteropServices;

namespace Lima2.Detectors.Jungfrau;

/// <summary>What became of one datagram handed to <see cref="ModuleFrameAssembler.Accept"/>.</summary>
public enum PacketVerdict
{
    Placed,
    /// <summary>A packet already caught for its frame.</summary>
    Duplicate,
    /// <summary>Its frame was already handed on (completed, timed out or pushed out of the window).</summary>
    Late,
    WrongSize,
    WrongDetectorType,
    ModuleOutOfRange,
    PacketNumberOutOfRange,
    /// <summary>The frame number is further ahead of the oldest frame in flight than <see cref="JungfrauAssemblerOptions.MaxFrameJump"/>.</summary>
    FrameNumberJump,

    /// <summary>A frame the detector deals to another receiver (<see cref="JungfrauAssemblerOptions.FrameStep"/>).</summary>
    OtherReceiversFrame,
}

public sealed record JungfrauAssemblerOptions
{
    /// <summary>The <c>modId</c> values this assembler owns, in the order their pixels are laid out in a frame.</summary>
    public required IReadOnlyList<int> ModuleIds { get; init; }

    /// <summary>How many consecutive frame numbers may be in flight at once (each holds one pooled buffer).</summary>
    public int Window { get; init; } = 16;

    /// <summary>
    /// A packet whose frame number is this far or further ahead of the oldest frame in flight is rejected as bad input
    /// rather than taken as the stream moving on (which would hand on every frame in flight as incomplete).
    /// </summary>
    public ulong MaxFrameJump { get; init; } = 100_000;

    /// <summary>The first frame number of the acquisition (sls counts from 1); null takes the first packet's.</summary>
    public ulong? FirstFrameNumber { get; init; }

    /// <summary>
    /// Full-frame round robin between n receivers: this port's frames are <see cref="FirstFrameNumber"/> (which must be
    /// given) plus every n-th; the frame numbers between are other receivers' frames, never missed here. 1: every frame.
    /// </summary>
    public ulong FrameStep { get; init; } = 1;

    /// <summary>
    /// UDP interfaces each module sends over: 1, or 2 as a JUNGFRAU with two 10 GbE links, where each interface carries
    /// half the module (64 packets numbered 0–63, 256 rows) to a port of its own.
    /// </summary>
    public int Interfaces { get; init; } = 1;

    /// <summary>Which of a module's <see cref="Interfaces"/> this port receives: interface i carries rows 256·i to 256·i + 255.</summary>
    public int Interface { get; init; }

    /// <summary>The packets of one module that come to this port.</summary>
    public int PacketsPerModule => JungfrauModule.PacketsPerFrame / Interfaces;
}

/// <summary>
/// Assembles the datagrams of the modules one port receives into whole frames, by frame number and packet number
/// (each module whole, or with two interfaces per module its half, <see cref="JungfrauAssemblerOptions.Interface"/>).
/// Frames are handed on in frame-number order when complete, when pushed out of the window by a newer frame, when
/// they time out (<see cref="Expire"/>) or at the end (<see cref="Finish"/>). Missing packets are padded with
/// 0xFFFF, as slsReceiver's <c>rx_padding</c> does (a pixel no real ADC word reaches in a caught frame, gain bits 11
/// with ADC 16383), and the caught-packets bitmap says which. Not thread-safe: one receive thread owns it.
/// Every datagram counts once under its <see cref="PacketVerdict"/>; every frame number of the port's from the first to
/// the last handed on counts as complete, incomplete or missed (no packet at all).
/// </summary>
public sealed class ModuleFrameAssembler
{
    public const ushort PaddingValue = 0xFFFF;

    private readonly JungfrauAssemblerOptions _options;
    private readonly Action<AssembledFrame> _onFrame;
    private readonly int[] _moduleIndexById;
    private readonly int _moduleCount;
    private readonly int _packetsPerModule;
    private readonly int _packetsPerFrame;
    private readonly FrameSlot[] _slots;
    private readonly ArrayPool<ushort> _pool;
    private readonly long[] _verdicts = new long[Enum.GetValues<PacketVerdict>().Length];
    private bool _started;
    private ulong _next; // the oldest frame number not yet handed on or counted missed

    public ModuleFrameAssembler(JungfrauAssemblerOptions options, Action<AssembledFrame> onFrame)
    {
        if (options.ModuleIds.Count == 0)
            throw new ArgumentException("an assembler owns at least one module", nameof(options));
        if (options.ModuleIds.Any(id => id is < 0 or > ushort.MaxValue) || options.ModuleIds.Distinct().Count() != options.ModuleIds.Count)
            throw new ArgumentException("module ids must be distinct values from 0 to 65535", nameof(options));
        if (options.Window < 1 || (ulong)options.Window > options.MaxFrameJump)
            throw new ArgumentException("the window must be at least 1 and no larger than MaxFrameJump", nameof(options));
        if (options.Interfaces is not (1 or 2) || options.Interface < 0 || options.Interface >= options.Interfaces)
            throw new ArgumentException("a module sends over 1 or 2 interfaces, and the port receives one of them", nameof(options));
        if (options.FrameStep < 1 || options.FrameStep > 1 && options.FirstFrameNumber is null)
            throw new ArgumentException("a frame step of 1 or more, and with a step of more than 1 the first frame number", nameof(options));
        _options = options;
        _onFrame = onFrame;
        _moduleCount = options.ModuleIds.Count;
        _packetsPerModule = options.PacketsPerModule;
        _packetsPerFrame = _moduleCount * _packetsPerModule;
        _moduleIndexById = Enumerable.Repeat(-1, options.ModuleIds.Max() + 1).ToArray();
        for (var i = 0; i < _moduleCount; i++)
            _moduleIndexById[options.ModuleIds[i]] = i;
        _slots = Enumerable.Range(0, options.Window).Select(_ => new FrameSlot(_packetsPerFrame)).ToArray();
        // Bounded: the window's buffers plus those the consumer holds; beyond that the pool allocates and drops.
        _pool = ArrayPool<ushort>.Create(FramePixels, 2 * options.Window);
    }

    /// <summary>The pixels of a frame this port hands on: its modules' (or their halves') one after another.</summary>
    public int FramePixels => _packetsPerFrame * JungfrauModule.PixelsPerPacket;

    public long Count(PacketVerdict verdict) => _verdicts[(int)verdict];
    public long PacketsReceived => _verdicts.Sum();
    public long PacketsRejected => PacketsReceived - Count(PacketVerdict.Placed) - Count(PacketVerdict.Duplicate) - Count(PacketVerdict.Late);
    public long PacketsPadded { get; private set; }
    public long FramesComplete { get; private set; }
    public long FramesIncomplete { get; private set; }
    public long FramesMissed { get; private set; }

    /// <summary>Takes one datagram; <paramref name="nowTicks"/> (any monotonic clock) stamps a frame's first packet for <see cref="Expire"/>.</summary>
    public PacketVerdict Accept(ReadOnlySpan<byte> datagram, long nowTicks)
    {
        var verdict = Place(datagram, nowTicks);
        _verdicts[(int)verdict]++;
        return verdict;
    }

    /// <summary>Hands on, in order, every frame up to the newest one whose first packet came at or before <paramref name="deadlineTicks"/>.</summary>
    public void Expire(long deadlineTicks)
    {
        ulong? newestExpired = null;
        foreach (var slot in _slots)
            if (slot.InUse && slot.FirstPacketTicks <= deadlineTicks && (newestExpired is null || slot.FrameNumber > newestExpired))
                newestExpired = slot.FrameNumber;
        if (newestExpired is { } frame)
            AdvanceTo(frame + 1);
    }

    /// <summary>Hands on every frame still in flight, in order (end of acquisition).</summary>
    public void Finish()
    {
        var newest = _slots.Where(s => s.InUse).Select(s => (ulong?)s.FrameNumber).Max();
        if (newest is { } frame)
            AdvanceTo(frame + 1);
    }

    private PacketVerdict Place(ReadOnlySpan<byte> datagram, long nowTicks)
    {
        if (datagram.Length != JungfrauModule.DatagramBytes)
            return PacketVerdict.WrongSize;
        var header = SlsDetectorHeader.Read(datagram);
        if (header.DetType != SlsDetectorHeader.JungfrauDetType)
            return PacketVerdict.WrongDetectorType;
        if (header.ModuleId >= _moduleIndexById.Length || _moduleIndexById[header.ModuleId] < 0)
            return PacketVerdict.ModuleOutOfRange;
        if (header.PacketNumber >= _packetsPerModule)
            return PacketVerdict.PacketNumberOutOfRange;

        // under round robin the assembler counts in this port's frames (first, first + step, ...), numbered first, first + 1, ...
        var frame = header.FrameNumber;
        if (_options.FrameStep > 1)
        {
            var first = _options.FirstFrameNumber!.Value;
            if (frame < first)
                return PacketVerdict.Late;
            if ((frame - first) % _options.FrameStep != 0)
                return PacketVerdict.OtherReceiversFrame;
            frame = first + (frame - first) / _options.FrameStep;
        }
        if (!_started)
        {
            _next = _options.FirstFrameNumber ?? frame;
            _started = true;
        }
        if (frame < _next)
            return PacketVerdict.Late;
        var ahead = frame - _next;
        if (ahead >= _options.MaxFrameJump)
            return PacketVerdict.FrameNumberJump;
        if (ahead >= (ulong)_slots.Length)
        {
            AdvanceTo(frame - (ulong)_slots.Length + 1);
            if (frame < _next) // the advance handed this frame on complete: the packet is a repeat
                return PacketVerdict.Late;
        }

        var slot = _slots[frame % (ulong)_slots.Length];
        if (!slot.InUse)
            slot.Open(frame, _pool.Rent(FramePixels), nowTicks, header);
        var packet = _moduleIndexById[header.ModuleId] * _packetsPerModule + (int)header.PacketNumber;
        if (!slot.TryMark(packet))
            return PacketVerdict.Duplicate;
        MemoryMarshal.Cast<byte, ushort>(datagram[SlsDetectorHeader.Size..])
            .CopyTo(slot.Buffer.AsSpan(packet * JungfrauModule.PixelsPerPacket, JungfrauModule.PixelsPerPacket));
        if (slot.Caught == _packetsPerFrame)
            HandOnCompleteHead();
        return PacketVerdict.Placed;
    }

    /// <summary>
    /// Hands on the frames before <paramref name="newNext"/>, then the complete ones that follow; costs at most one pass
    /// over the window, whatever the jump.
    /// </summary>
    private void AdvanceTo(ulong newNext)
    {
        if (newNext <= _next)
            return;
        long handedOn = 0;
        for (ulong k = 0; k < (ulong)_slots.Length && _next + k < newNext; k++)
        {
            var frame = _next + k;
            var slot = _slots[frame % (ulong)_slots.Length];
            if (slot.InUse && slot.FrameNumber == frame)
            {
                HandOn(slot);
                handedOn++;
            }
        }
        FramesMissed += (long)(newNext - _next) - handedOn;
        _next = newNext;
        HandOnCompleteHead();
    }

    private void HandOnCompleteHead()
    {
        while (true)
        {
            var slot = _slots[_next % (ulong)_slots.Length];
            if (!slot.InUse || slot.FrameNumber != _next || slot.Caught != _packetsPerFrame)
                return;
            HandOn(slot);
            _next++;
        }
    }

    private void HandOn(FrameSlot slot)
    {
        var missing = _packetsPerFrame - slot.Caught;
        if (missing > 0)
        {
            for (var packet = 0; packet < _packetsPerFrame; packet++)
                if (!slot.IsCaught(packet))
                    slot.Buffer.AsSpan(packet * JungfrauModule.PixelsPerPacket, JungfrauModule.PixelsPerPacket).Fill(PaddingValue);
            PacketsPadded += missing;
            FramesIncomplete++;
        }
        else
            FramesComplete++;
        var assembled = new AssembledFrame(FrameNumberOf(slot.FrameNumber), slot.Buffer, FramePixels, _pool, (ulong[])slot.Mask.Clone(),
            slot.Caught, missing, slot.Timestamp, slot.BunchId);
        slot.Close();
        _onFrame(assembled);
    }

    /// <summary>The detector's frame number of this port's frame <paramref name="sequence"/> (its frames counted from the first, one by one).</summary>
    private ulong FrameNumberOf(ulong sequence) => _options.FrameStep == 1 ? sequence
        : _options.FirstFrameNumber!.Value + (sequence - _options.FirstFrameNumber.Value) * _options.FrameStep;

    private sealed class FrameSlot(int packets)
    {
        public readonly ulong[] Mask = new ulong[packets / 64];
        public bool InUse;
        public ulong FrameNumber;
        public ushort[] Buffer = [];
        public int Caught;
        public long FirstPacketTicks;
        public ulong Timestamp;
        public ulong BunchId;

        public void Open(ulong frame, ushort[] buffer, long ticks, in SlsDetectorHeader first)
        {
            InUse = true;
            FrameNumber = frame;
            Buffer = buffer;
            Caught = 0;
            Array.Clear(Mask);
            FirstPacketTicks = ticks;
            Timestamp = first.Timestamp;
            BunchId = first.BunchId;
        }

        public bool IsCaught(int packet) => (Mask[packet >> 6] & (1UL << (packet & 63))) != 0;

        public bool TryMark(int packet)
        {
            if (IsCaught(packet))
                return false;
            Mask[packet >> 6] |= 1UL << (packet & 63);
            Caught++;
            return true;
        }

        public void Close()
        {
            InUse = false;
            Buffer = [];
        }
    }
}

/// <summary>
/// One assembled frame: the port's modules' 1024×512 raw pixels (or 1024×256 halves with two interfaces per module) one
/// after another (module-major), padded where packets were missing. It owns a pooled buffer: dispose it once to give
/// the buffer back.
/// </summary>
public sealed class AssembledFrame(ulong frameNumber, ushort[] buffer, int length, ArrayPool<ushort> pool, ulong[] caughtMask,
    int packetsCaught, int packetsMissing, ulong timestamp, ulong bunchId) : IDisposable
{
    private ushort[]? _buffer = buffer;

    public ulong FrameNumber => frameNumber;
    public ReadOnlySpan<ushort> Pixels => (_buffer ?? throw new ObjectDisposedException(nameof(AssembledFrame))).AsSpan(0, length);
    /// <summary>Bit p (module index × packets per module + packet number) is set when that packet was caught.</summary>
    public IReadOnlyList<ulong> CaughtMask => caughtMask;
    public int PacketsCaught => packetsCaught;
    public int PacketsMissing => packetsMissing;
    public bool IsComplete => packetsMissing == 0;
    /// <summary>The 10 MHz timestamp and bunch id of the first packet that reached the receiver.</summary>
    public ulong Timestamp => timestamp;
    public ulong BunchId => bunchId;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } b)
            pool.Return(b);
    }
}
