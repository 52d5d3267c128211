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
    [Attr("ampli", Format = "%6.2f", WriteOnly = true, Description = "Amplitude of the wave attribute (write-only)")]
    public double Ampli { get; set; } = 1.0;
    [Attr("boolean_scalar", Description = "A read/write boolean scalar: reads back what was last written")]
    public bool BooleanScalar { get; set; } = true;
    [Attr("double_scalar", Format = "%6.2f", Description = "A read/write double scalar: reads back what was last written")]
    public double DoubleScalar { get; set; } = 1.5;
    [Attr("double_scalar_rww", Format = "%6.2f", WriteAttribute = "double_scalar_w",
        Description = "The last value written to double_scalar_w (read with write: writing it writes double_scalar_w)")]
    public double DoubleScalarRww => DoubleScalarW;
    [Attr("double_scalar_w", Format = "%6.2f", WriteOnly = true, Description = "A write-only double scalar, read back by double_scalar_rww")]
    public double DoubleScalarW { get; set; }
    [Attr("float_scalar", Format = "%6.2f", Description = "A read/write float scalar: reads back what was last written")]
    public float FloatScalar { get; set; } = 2.5f;
    [Attr("long64_scalar", Format = "%d", Description = "A read/write 64-bit integer scalar: reads back what was last written")]
    public long Long64Scalar { get; set; } = 64;
    [Attr("long_scalar", Format = "%d", Description = "A read/write 32-bit integer scalar: reads back what was last written")]
    public int LongScalar { get; set; } = 81;
    [Attr("long_scalar_rww", Format = "%d", WriteAttribute = "long_scalar_w",
        Description = "The last value written to long_scalar_w (read with write: writing it writes long_scalar_w)")]
    public int LongScalarRww => LongScalarW;
    [Attr("long_scalar_w", Format = "%d", WriteOnly = true, Description = "A write-only 32-bit integer scalar, read back by long_scalar_rww")]
    public int LongScalarW { get; set; }
    [Attr("no_value", Format = "%d", Description = "Never has a value: reading it fails with API_AttrValueNotSet")] public int NoValue =>
        throw new DevFailedException("API_AttrValueNotSet", "Value for attribute no_value has not been updated", "no_value");
    [Attr("short_scalar", Format = "%d", Description = "A read/write 16-bit integer scalar: reads back what was last written")]
    public short ShortScalar { get; set; } = 16;
    [Attr("short_scalar_ro", Format = "%d", Description = "The value of short_scalar, read-only")] public short ShortScalarRo => ShortScalar;
    [Attr("short_scalar_rww", Format = "%d", WriteAttribute = "short_scalar_w",
        Description = "The last value written to short_scalar_w (read with write: writing it writes short_scalar_w)")]
    public short ShortScalarRww => ShortScalarW;
    [Attr("short_scalar_w", Format = "%d", WriteOnly = true, Description = "A write-only 16-bit integer scalar, read back by short_scalar_rww")]
    public short ShortScalarW { get; set; }
    [Attr("string_scalar", Format = "%s", Description = "A read/write string scalar: reads back what was last written")]
    public string StringScalar { get; set; } = "Default string";
    [Attr("throw_exception", Format = "%d", Description = "Reading it always fails with TangoTest_Exception, to test clients' error handling")]
    public int ThrowException =>
        throw new DevFailedException("TangoTest_Exception", "Exception thrown on purpose by throw_exception", "throw_exception");
    [Attr("uchar_scalar", Format = "%d", Description = "A read/write unsigned 8-bit scalar: reads back what was last written")]
    public byte UCharScalar { get; set; } = 8;
    [Attr("ulong64_scalar", Format = "%d", Description = "A read/write unsigned 64-bit scalar: reads back what was last written")]
    public ulong ULong64Scalar { get; set; } = 6400;
    [Attr("ushort_scalar", Format = "%d", Description = "A read/write unsigned 16-bit scalar: reads back what was last written")]
    public ushort UShortScalar { get; set; } = 1600;
    [Attr("ulong_scalar", Format = "%d", Description = "A read/write unsigned 32-bit scalar: reads back what was last written")]
    public uint ULongScalar { get; set; } = 3200;

    // ---- spectra ----
    [Attr("boolean_spectrum", Description = "A read/write boolean spectrum: reads back what was last written")]
    public bool[] BooleanSpectrum { get; set; } = [true, false];
    [Attr("boolean_spectrum_ro", Description = "256 booleans, true at even indices")]
    public bool[] BooleanSpectrumRo { get; } = Ramp(256, i => i % 2 == 0);
    [Attr("double_spectrum", Format = "%6.2f", Description = "A read/write double spectrum: reads back what was last written")]
    public double[] DoubleSpectrum { get; set; } = [1.5];
    [Attr("double_spectrum_ro", Format = "%6.2f", Description = "256 doubles, value i / 2 at index i")]
    public double[] DoubleSpectrumRo { get; } = Ramp(256, i => i * 0.5);
    [Attr("float_spectrum", Format = "%6.2f", Description = "A read/write float spectrum: reads back what was last written")]
    public float[] FloatSpectrum { get; set; } = [2.5f];
    [Attr("float_spectrum_ro", Format = "%6.2f", Description = "256 floats, value i / 4 at index i")]
    public float[] FloatSpectrumRo { get; } = Ramp(256, i => i * 0.25f);
    [Attr("long64_spectrum_ro", Format = "%d", Description = "256 64-bit integers, value i * 10^9 at index i")]
    public long[] Long64SpectrumRo { get; } = Ramp(256, i => i * 1_000_000_000L);
    [Attr("long_spectrum", Format = "%d", Description = "A read/write 32-bit integer spectrum: reads back what was last written")]
    public int[] LongSpectrum { get; set; } = [81];
    [Attr("long_spectrum_ro", Format = "%d", Description = "256 32-bit integers, value -i at index i")]
    public int[] LongSpectrumRo { get; } = Ramp(256, i => -i);
    [Attr("short_spectrum", Format = "%d", Description = "A read/write 16-bit integer spectrum: reads back what was last written")]
    public short[] ShortSpectrum { get; set; } = [16];
    [Attr("short_spectrum_ro", Format = "%d", Description = "256 16-bit integers, value i at index i")]
    public short[] ShortSpectrumRo { get; } = Ramp(256, i => (short)i);
    [Attr("string_spectrum", Format = "%s", MaxX = 256, Description = "A read/write string spectrum: reads back what was last written (up to 256)")]
    public string[] StringSpectrum { get; set; } = ["a", "b"];
    [Attr("string_spectrum_ro", Format = "%s", MaxX = 256, Description = "16 strings, s0 to s15")]
    public string[] StringSpectrumRo { get; } = Ramp(16, i => $"s{i}");
    [Attr("uchar_spectrum", Format = "%d", MinValue = 0, MaxValue = 255,
        Description = "A read/write unsigned 8-bit spectrum: reads back what was last written")]
    public byte[] UCharSpectrum { get; set; } = [8];
    [Attr("uchar_spectrum_ro", Format = "%d", Description = "256 unsigned 8-bit values, value i at index i")]
    public byte[] UCharSpectrumRo { get; } = Ramp(256, i => (byte)i);
    [Attr("ulong64_spectrum_ro", Format = "%d", Description = "256 unsigned 64-bit values, value i * 2^40 at index i")]
    public ulong[] ULong64SpectrumRo { get; } = Ramp(256, i => (ulong)i << 40);
    [Attr("ulong_spectrum_ro", Format = "%d", Description = "256 unsigned 32-bit values, value 3 i at index i")]
    public uint[] ULongSpectrumRo { get; } = Ramp(256, i => (uint)i * 3);
    [Attr("ushort_spectrum", Format = "%d", Description = "A read/write unsigned 16-bit spectrum: reads back what was last written")]
    public ushort[] UShortSpectrum { get; set; } = [1600];
    [Attr("ushort_spectrum_ro", Format = "%d", Description = "256 unsigned 16-bit values, value 2 i at index i")]
    public ushort[] UShortSpectrumRo { get; } = Ramp(256, i => (ushort)(i * 2));
    [Attr("wave", Format = "%6.2f", Description = "256 points of a sine period, ampli * sin(2 pi i / 256)")]
    public double[] Wave => Ramp(256, i => Ampli * Math.Sin(i * 2 * Math.PI / 256));

    // ---- images ----
    [Attr("boolean_image", MaxX = Image, MaxY = Image,
        Description = "A read/write boolean image: reads back what was last written (up to 251 x 251)")]
    public bool[,] BooleanImage { get; set; } = new bool[1, 1];
    [Attr("boolean_image_ro", Label = "boolean_image", MaxX = Image, MaxY = Image,
        Description = "A 251 x 251 checkerboard: true where x + y is even")]
    public bool[,] BooleanImageRo { get; } = Grid(Image, Image, (x, y) => (x + y) % 2 == 0);
    [Attr("double_image", Format = "%6.2f", MaxX = Image, MaxY = Image,
        Description = "A read/write double image: reads back what was last written (up to 251 x 251)")]
    public double[,] DoubleImage { get; set; } = new double[1, 1];
    [Attr("double_image_ro", Format = "%6.2f", MaxX = Image, MaxY = Image, Description = "251 x 251 doubles, x + 1000 y at column x, row y")]
    public double[,] DoubleImageRo { get; } = Grid(Image, Image, (x, y) => x + 1000.0 * y);
    [Attr("float_image", Format = "%6.2f", MaxX = Image, MaxY = Image,
        Description = "A read/write float image: reads back what was last written (up to 251 x 251)")]
    public float[,] FloatImage { get; set; } = new float[1, 1];
    [Attr("float_image_ro", Label = "float_image", MinValue = 0, MaxValue = 255, Format = "%6.2f", MaxX = Image, MaxY = Image,
        Description = "251 x 251 floats, x / 2 + y at column x, row y")]
    public float[,] FloatImageRo { get; } = Grid(Image, Image, (x, y) => x * 0.5f + y);
    [Attr("long64_image_ro", Format = "%d", MaxX = Image, MaxY = Image, Description = "251 x 251 64-bit integers, x * y at column x, row y")]
    public long[,] Long64ImageRo { get; } = Grid(Image, Image, (x, y) => (long)x * y);
    [Attr("long_image", Format = "%d", MaxX = Image, MaxY = Image,
        Description = "A read/write 32-bit integer image: reads back what was last written (up to 251 x 251)")]
    public int[,] LongImage { get; set; } = new int[1, 1];
    [Attr("long_image_ro", Format = "%d", MaxX = Image, MaxY = Image, Description = "251 x 251 32-bit integers, x - y at column x, row y")]
    public int[,] LongImageRo { get; } = Grid(Image, Image, (x, y) => x - y);
    [Attr("short_image", Format = "%d", MaxX = Image, MaxY = Image,
        Description = "A read/write 16-bit integer image: reads back what was last written (up to 251 x 251)")]
    public short[,] ShortImage { get; set; } = new short[1, 1];
    [Attr("short_image_ro", Format = "%d", MaxX = Image, MaxY = Image, Description = "251 x 251 16-bit integers, x + y at column x, row y")]
    public short[,] ShortImageRo { get; } = Grid(Image, Image, (x, y) => (short)(x + y));
    [Attr("string_image", Format = "%s", MaxX = 256, MaxY = 256,
        Description = "A read/write string image: reads back what was last written (up to 256 x 256)")]
    public string[,] StringImage { get; set; } = new[,] { { "" } };
    [Attr("string_image_ro", Format = "%s", MaxX = 256, MaxY = 256, Description = "3 x 2 strings, \"y,x\" at column x, row y")]
    public string[,] StringImageRo { get; } = Grid(3, 2, (x, y) => $"{y},{x}");
    [Attr("uchar_image", Format = "%d", MaxX = Image, MaxY = Image,
        Description = "A read/write unsigned 8-bit image: reads back what was last written (up to 251 x 251)")]
    public byte[,] UCharImage { get; set; } = new byte[1, 1];
    [Attr("uchar_image_ro", Label = "uchar_image", MinValue = 0, MaxValue = 255, Format = "%d", MaxX = Image, MaxY = Image,
        Description = "251 x 251 unsigned 8-bit values, x xor y at column x, row y")]
    public byte[,] UCharImageRo { get; } = Grid(Image, Image, (x, y) => (byte)(x ^ y));
    [Attr("ulong64_image_ro", Format = "%d", MaxX = Image, MaxY = Image,
        Description = "251 x 251 unsigned 64-bit values, (x + y) * 2^33 at column x, row y")]
    public ulong[,] ULong64ImageRo { get; } = Grid(Image, Image, (x, y) => (ulong)(x + y) << 33);
    [Attr("ulong_image_ro", Format = "%d", MaxX = Image, MaxY = Image, Description = "251 x 251 unsigned 32-bit values, x * y at column x, row y")]
    public uint[,] ULongImageRo { get; } = Grid(Image, Image, (x, y) => (uint)(x * y));
    [Attr("ushort_image", Format = "%d", MaxX = Image, MaxY = Image,
        Description = "A read/write unsigned 16-bit image: reads back what was last written (up to 251 x 251)")]
    public ushort[,] UShortImage { get; set; } = new ushort[1, 1];
    /// <summary>Served without a copy (the benchmark's image); its size is the UShort_image_ro_size property.</summary>
    [Attr("ushort_image_ro", MinValue = 0, MaxValue = 255, Format = "%d", MaxX = 8192, MaxY = 8192,
        Description = "N x N unsigned 16-bit values (N: the UShort_image_ro_size property), x + y at column x, row y, served without a copy")]
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
    [Command(InDescription = "Any boolean value", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public bool DevBoolean(bool v) => v;
    [Command(InDescription = "Any DevDouble value", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public double DevDouble(double v) => v;
    [Command(InDescription = "Any DevFloat value", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public float DevFloat(float v) => v;
    [Command(InDescription = "Any DevLong value", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public int DevLong(int v) => v;
    [Command(InDescription = "Any DevLong64 value", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public long DevLong64(long v) => v;
    [Command(InDescription = "Any DevShort value", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public short DevShort(short v) => v;
    [Command(InDescription = "Any string", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public string DevString(string v) => v;
    [Command(InDescription = "Any DevULong value", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public uint DevULong(uint v) => v;
    [Command(InDescription = "Any DevULong64 value", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public ulong DevULong64(ulong v) => v;
    [Command(InDescription = "Any DevUShort value", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public ushort DevUShort(ushort v) => v;
    [Command(InDescription = "Any array of bytes", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public byte[] DevVarCharArray(byte[] v) => v;
    [Command(InDescription = "Any array of doubles", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public double[] DevVarDoubleArray(double[] v) => v;
    [Command(InDescription = "Any doubles and strings", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public DoubleStringArray DevVarDoubleStringArray(DoubleStringArray v) => v;
    [Command(InDescription = "Any array of floats", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public float[] DevVarFloatArray(float[] v) => v;
    [Command(Description = "Echoes its argument", InDescription = "Any array of 64-bit integers", OutDescription = "Echo of the argin value")]
    public long[] DevVarLong64Array(long[] v) => v;
    [Command(InDescription = "Any array of 32-bit integers", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public int[] DevVarLongArray(int[] v) => v;
    [Command(InDescription = "Any 32-bit integers and strings", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public LongStringArray DevVarLongStringArray(LongStringArray v) => v;
    [Command(InDescription = "Any array of 16-bit integers", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public short[] DevVarShortArray(short[] v) => v;
    [Command(InDescription = "Any array of strings", OutDescription = "Echo of the argin value", Description = "Echoes its argument")]
    public string[] DevVarStringArray(string[] v) => v;
    [Command(Description = "Echoes its argument",
        InDescription = "Any array of unsigned 64-bit integers", OutDescription = "Echo of the argin value")]
    public ulong[] DevVarULong64Array(ulong[] v) => v;
    [Command(InDescription = "Any array of unsigned 32-bit integers", OutDescription = "Echo of the argin value",
        Description = "Echoes its argument")]
    public uint[] DevVarULongArray(uint[] v) => v;
    [Command(InDescription = "Any array of unsigned 16-bit integers", OutDescription = "Echo of the argin value",
        Description = "Echoes its argument")]
    public ushort[] DevVarUShortArray(ushort[] v) => v;
    [Command(InDescription = "N/A", OutDescription = "N/A", Description = "Does nothing: a void command")] public void DevVoid() { }
    [Command(DisplayLevel = DispLevel.Expert, Description = "Logs the state and status at INFO and the device name at DEBUG")]
    public void DumpExecutionState()
    {
        Logger.Info("execution state: {State}, {Status}", State, Status);
        Logger.Debug("debug details of {Name}", Name);
    }
    [Command(Description = "Switches the state between RUNNING and FAULT")]
    public void SwitchStates() => State = State == DevState.Running ? DevState.Fault : DevState.Running;

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
