using Tango;
using Tango.Server;

namespace TangoNetTest;

/// <summary>
/// TangoTest's interface (same attribute and command names, types, formats and sizes), so that clients written
/// for the C++ TangoTest run unchanged. Read/write attributes give back what was last written; the read-only
/// ones serve fixed patterns that tests can check. The binding's extras live in TangoNetTestDevice.Showcase.cs.
/// </summary>
[TangoClass("TangoNetTest")]
public sealed partial class TangoNetTestDevice : Device
{
    private const int Image = 251;

    [DeviceProperty(Description = "Width and height of ushort_image_ro")]
    public int UShort_image_ro_size { get; set; } = Image;

    // ---- scalars ----
    [Attr("ampli", Format = "%6.2f", WriteOnly = true)] public double Ampli { get; set; } = 1.0;
    [Attr("boolean_scalar", Description = "A boolean scalar attribute")] public bool BooleanScalar { get; set; } = true;
    [Attr("double_scalar", Format = "%6.2f")] public double DoubleScalar { get; set; } = 1.5;
    [Attr("double_scalar_rww", Format = "%6.2f", WriteAttribute = "double_scalar_w")] public double DoubleScalarRww => DoubleScalarW;
    [Attr("double_scalar_w", Format = "%6.2f", WriteOnly = true)] public double DoubleScalarW { get; set; }
    [Attr("float_scalar", Format = "%6.2f", Description = "A float attribute")] public float FloatScalar { get; set; } = 2.5f;
    [Attr("long64_scalar", Format = "%d")] public long Long64Scalar { get; set; } = 64;
    [Attr("long_scalar", Format = "%d")] public int LongScalar { get; set; } = 81;
    [Attr("long_scalar_rww", Format = "%d", WriteAttribute = "long_scalar_w")] public int LongScalarRww => LongScalarW;
    [Attr("long_scalar_w", Format = "%d", WriteOnly = true)] public int LongScalarW { get; set; }
    [Attr("no_value", Format = "%d")] public int NoValue =>
        throw new DevFailedException("API_AttrValueNotSet", "Value for attribute no_value has not been updated", "no_value");
    [Attr("short_scalar", Format = "%d")] public short ShortScalar { get; set; } = 16;
    [Attr("short_scalar_ro", Format = "%d")] public short ShortScalarRo => ShortScalar;
    [Attr("short_scalar_rww", Format = "%d", WriteAttribute = "short_scalar_w")] public short ShortScalarRww => ShortScalarW;
    [Attr("short_scalar_w", Format = "%d", WriteOnly = true)] public short ShortScalarW { get; set; }
    [Attr("string_scalar", Format = "%s")] public string StringScalar { get; set; } = "Default string";
    [Attr("throw_exception", Format = "%d")] public int ThrowException =>
        throw new DevFailedException("TangoTest_Exception", "Exception thrown on purpose by throw_exception", "throw_exception");
    [Attr("uchar_scalar", Format = "%d")] public byte UCharScalar { get; set; } = 8;
    [Attr("ulong64_scalar", Format = "%d")] public ulong ULong64Scalar { get; set; } = 6400;
    [Attr("ushort_scalar", Format = "%d")] public ushort UShortScalar { get; set; } = 1600;
    [Attr("ulong_scalar", Format = "%d")] public uint ULongScalar { get; set; } = 3200;

    // ---- spectra ----
    [Attr("boolean_spectrum")] public bool[] BooleanSpectrum { get; set; } = [true, false];
    [Attr("boolean_spectrum_ro")] public bool[] BooleanSpectrumRo { get; } = Ramp(256, i => i % 2 == 0);
    [Attr("double_spectrum", Format = "%6.2f")] public double[] DoubleSpectrum { get; set; } = [1.5];
    [Attr("double_spectrum_ro", Format = "%6.2f")] public double[] DoubleSpectrumRo { get; } = Ramp(256, i => i * 0.5);
    [Attr("float_spectrum", Format = "%6.2f", Description = "A float spectrum attribute")] public float[] FloatSpectrum { get; set; } = [2.5f];
    [Attr("float_spectrum_ro", Format = "%6.2f")] public float[] FloatSpectrumRo { get; } = Ramp(256, i => i * 0.25f);
    [Attr("long64_spectrum_ro", Format = "%d")] public long[] Long64SpectrumRo { get; } = Ramp(256, i => i * 1_000_000_000L);
    [Attr("long_spectrum", Format = "%d")] public int[] LongSpectrum { get; set; } = [81];
    [Attr("long_spectrum_ro", Format = "%d")] public int[] LongSpectrumRo { get; } = Ramp(256, i => -i);
    [Attr("short_spectrum", Format = "%d")] public short[] ShortSpectrum { get; set; } = [16];
    [Attr("short_spectrum_ro", Format = "%d")] public short[] ShortSpectrumRo { get; } = Ramp(256, i => (short)i);
    [Attr("string_spectrum", Format = "%s", MaxX = 256)] public string[] StringSpectrum { get; set; } = ["a", "b"];
    [Attr("string_spectrum_ro", Format = "%s", MaxX = 256)] public string[] StringSpectrumRo { get; } = Ramp(16, i => $"s{i}");
    [Attr("uchar_spectrum", Format = "%d", MinValue = 0, MaxValue = 255, Description = "An unsigned char spectrum attribute")]
    public byte[] UCharSpectrum { get; set; } = [8];
    [Attr("uchar_spectrum_ro", Format = "%d")] public byte[] UCharSpectrumRo { get; } = Ramp(256, i => (byte)i);
    [Attr("ulong64_spectrum_ro", Format = "%d")] public ulong[] ULong64SpectrumRo { get; } = Ramp(256, i => (ulong)i << 40);
    [Attr("ulong_spectrum_ro", Format = "%d")] public uint[] ULongSpectrumRo { get; } = Ramp(256, i => (uint)i * 3);
    [Attr("ushort_spectrum", Format = "%d", Description = "An unsigned short spectrum attribute")] public ushort[] UShortSpectrum { get; set; } = [1600];
    [Attr("ushort_spectrum_ro", Format = "%d")] public ushort[] UShortSpectrumRo { get; } = Ramp(256, i => (ushort)(i * 2));
    [Attr("wave", Format = "%6.2f")] public double[] Wave => Ramp(256, i => Ampli * Math.Sin(i * 2 * Math.PI / 256));

    // ---- images ----
    [Attr("boolean_image", MaxX = Image, MaxY = Image)] public bool[,] BooleanImage { get; set; } = new bool[1, 1];
    [Attr("boolean_image_ro", Label = "boolean_image", MaxX = Image, MaxY = Image)] public bool[,] BooleanImageRo { get; } = Grid(Image, Image, (x, y) => (x + y) % 2 == 0);
    [Attr("double_image", Format = "%6.2f", MaxX = Image, MaxY = Image)] public double[,] DoubleImage { get; set; } = new double[1, 1];
    [Attr("double_image_ro", Format = "%6.2f", MaxX = Image, MaxY = Image)] public double[,] DoubleImageRo { get; } = Grid(Image, Image, (x, y) => x + 1000.0 * y);
    [Attr("float_image", Format = "%6.2f", MaxX = Image, MaxY = Image)] public float[,] FloatImage { get; set; } = new float[1, 1];
    [Attr("float_image_ro", Label = "float_image", MinValue = 0, MaxValue = 255, Format = "%6.2f", MaxX = Image, MaxY = Image, Description = "A float image attribute")]
    public float[,] FloatImageRo { get; } = Grid(Image, Image, (x, y) => x * 0.5f + y);
    [Attr("long64_image_ro", Format = "%d", MaxX = Image, MaxY = Image)] public long[,] Long64ImageRo { get; } = Grid(Image, Image, (x, y) => (long)x * y);
    [Attr("long_image", Format = "%d", MaxX = Image, MaxY = Image)] public int[,] LongImage { get; set; } = new int[1, 1];
    [Attr("long_image_ro", Format = "%d", MaxX = Image, MaxY = Image)] public int[,] LongImageRo { get; } = Grid(Image, Image, (x, y) => x - y);
    [Attr("short_image", Format = "%d", MaxX = Image, MaxY = Image)] public short[,] ShortImage { get; set; } = new short[1, 1];
    [Attr("short_image_ro", Format = "%d", MaxX = Image, MaxY = Image)] public short[,] ShortImageRo { get; } = Grid(Image, Image, (x, y) => (short)(x + y));
    [Attr("string_image", Format = "%s", MaxX = 256, MaxY = 256)] public string[,] StringImage { get; set; } = new[,] { { "" } };
    [Attr("string_image_ro", Format = "%s", MaxX = 256, MaxY = 256)] public string[,] StringImageRo { get; } = Grid(3, 2, (x, y) => $"{y},{x}");
    [Attr("uchar_image", Format = "%d", MaxX = Image, MaxY = Image)] public byte[,] UCharImage { get; set; } = new byte[1, 1];
    [Attr("uchar_image_ro", Label = "uchar_image", MinValue = 0, MaxValue = 255, Format = "%d", MaxX = Image, MaxY = Image, Description = "An unsigned char image attribute")]
    public byte[,] UCharImageRo { get; } = Grid(Image, Image, (x, y) => (byte)(x ^ y));
    [Attr("ulong64_image_ro", Format = "%d", MaxX = Image, MaxY = Image)] public ulong[,] ULong64ImageRo { get; } = Grid(Image, Image, (x, y) => (ulong)(x + y) << 33);
    [Attr("ulong_image_ro", Format = "%d", MaxX = Image, MaxY = Image)] public uint[,] ULongImageRo { get; } = Grid(Image, Image, (x, y) => (uint)(x * y));
    [Attr("ushort_image", Format = "%d", MaxX = Image, MaxY = Image)] public ushort[,] UShortImage { get; set; } = new ushort[1, 1];
    /// <summary>Served without a copy (the benchmark's image); its size is the UShort_image_ro_size property.</summary>
    [Attr("ushort_image_ro", MinValue = 0, MaxValue = 255, Format = "%d", MaxX = 8192, MaxY = 8192, Description = "An unsigned short image attribute")]
    public SharedImage<ushort> UShortImageRo { get; private set; } = new(1, 1);

    protected override void Init()
    {
        FailIfAsked("Init");
        var n = Math.Clamp(UShort_image_ro_size, 1, 8192);
        if (UShortImageRo.Width != n)
            UShortImageRo = new SharedImage<ushort>(n, n);
        UShortImageRo.Update(pixels =>
        {
            for (var i = 0; i < pixels.Length; i++)
                pixels[i] = (ushort)(i % n + i / n);
        });
        State = DevState.Running;
        Status = "The device is in RUNNING state.";
    }

    // ---- commands: each DevXxx echoes its argument ----
    [Command(InDescription = "Any boolean value", OutDescription = "Echo of the argin value")] public bool DevBoolean(bool v) => v;
    [Command(InDescription = "Any DevDouble value", OutDescription = "Echo of the argin value")] public double DevDouble(double v) => v;
    [Command(InDescription = "Any DevFloat value", OutDescription = "Echo of the argin value")] public float DevFloat(float v) => v;
    [Command(InDescription = "Any DevLong value", OutDescription = "Echo of the argin value")] public int DevLong(int v) => v;
    [Command(InDescription = "Any DevLong64 value", OutDescription = "Echo of the argin value")] public long DevLong64(long v) => v;
    [Command(InDescription = "Any DevShort value", OutDescription = "Echo of the argin value")] public short DevShort(short v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public string DevString(string v) => v;
    [Command(InDescription = "Any DevULong", OutDescription = "Echo of the argin value")] public uint DevULong(uint v) => v;
    [Command(InDescription = "Any DevULong64 value", OutDescription = "Echo of the argin value")] public ulong DevULong64(ulong v) => v;
    [Command(InDescription = "Any DevUShort value", OutDescription = "Echo of the argin value")] public ushort DevUShort(ushort v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public byte[] DevVarCharArray(byte[] v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public double[] DevVarDoubleArray(double[] v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public DoubleStringArray DevVarDoubleStringArray(DoubleStringArray v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public float[] DevVarFloatArray(float[] v) => v;
    [Command] public long[] DevVarLong64Array(long[] v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public int[] DevVarLongArray(int[] v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public LongStringArray DevVarLongStringArray(LongStringArray v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public short[] DevVarShortArray(short[] v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public string[] DevVarStringArray(string[] v) => v;
    [Command] public ulong[] DevVarULong64Array(ulong[] v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public uint[] DevVarULongArray(uint[] v) => v;
    [Command(InDescription = "-", OutDescription = "-")] public ushort[] DevVarUShortArray(ushort[] v) => v;
    [Command(InDescription = "N/A", OutDescription = "N/A")] public void DevVoid() { }
    [Command(DisplayLevel = DispLevel.Expert)] public void DumpExecutionState()
    {
        Logger.Info("execution state: {State}, {Status}", State, Status);
        Logger.Debug("debug details of {Name}", Name);
    }
    [Command] public void SwitchStates() => State = State == DevState.Running ? DevState.Fault : DevState.Running;

    private static T[] Ramp<T>(int n, Func<int, T> f) => Enumerable.Range(0, n).Select(f).ToArray();

    private static T[,] Grid<T>(int width, int height, Func<int, int, T> f)
    {
        var image = new T[height, width];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                image[y, x] = f(x, y);
        return image;
    }
}
