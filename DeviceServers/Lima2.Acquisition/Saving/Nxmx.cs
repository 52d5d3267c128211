using System.Globalization;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Saving;

/// <summary>What a run's files say besides the frames: the detector, the beam, the sample and when it started.</summary>
/// <param name="Detector">the channel's detector facts merged with the acquisition's (null: all unknown)</param>
/// <param name="Start">when the run started (the entry's <c>start_time</c>)</param>
/// <param name="SampleName">NXsample <c>name</c></param>
/// <param name="InstrumentName">NXinstrument <c>name</c> (the beamline)</param>
/// <param name="SourceName">NXsource <c>name</c> (the facility)</param>
/// <param name="Modules">the detector's modules in the frames (a JUNGFRAU's); null: one module, the whole frame</param>
public sealed record NxmxFacts(DetectorMetadata? Detector, DateTimeOffset Start, string SampleName = Nxmx.Unknown,
    string InstrumentName = Nxmx.Unknown, string SourceName = Nxmx.Unknown, IReadOnlyList<NxmxModule>? Modules = null);

/// <summary>
/// One detector module: its pixels in the file's frames (first pixel at column <paramref name="X"/>, row
/// <paramref name="Y"/>, <paramref name="Width"/> × <paramref name="Height"/> pixels: NXdetector_module's data_origin
/// and data_size), and where its first pixel is in the detector's image (<paramref name="DetectorX"/>,
/// <paramref name="DetectorY"/>: the same in a whole image, elsewhere in a receiver's stack of modules).
/// </summary>
public readonly record struct NxmxModule(int X, int Y, int Width, int Height, int DetectorX, int DetectorY)
{
    /// <summary>A module of the detector's image itself, at (<paramref name="x"/>, <paramref name="y"/>) of it.</summary>
    public static NxmxModule InImage(int x, int y, int width, int height) => new(x, y, width, height, x, y);
}

/// <summary>
/// The NXmx application definition's tree, as DECTRIS' FileWriter writes it: <c>/entry</c> (definition NXmx,
/// start and end time), <c>/entry/data</c> (NXdata, signal <c>data</c>: the frames), <c>/entry/instrument</c> with
/// the detector (NXdetector: pixel size, distance, beam centre, sensor, saturation, bit depths, pixel mask, an
/// NXdetector_module per module and the <c>depends_on</c> chain) and the beam (NXbeam: incident_wavelength), <c>/entry/sample</c> (NXsample) and
/// <c>/entry/source</c> (NXsource).
/// </summary>
/// <remarks>
/// Geometry in NeXus' McStas frame (z along the beam, y up), as DECTRIS: the detector is translated by
/// <c>distance</c> along z; the module's origin (the outer corner of pixel (0, 0)) sits at
/// (beam_center_x · x_pixel_size, beam_center_y · y_pixel_size) from the beam; fast pixels run along −x, slow
/// ones along −y. So the chain fast/slow_pixel_direction → module_offset → translation → "." puts the beam centre on
/// the z axis. A detector of several modules (<see cref="NxmxFacts.Modules"/>: a JUNGFRAU's) has one
/// NXdetector_module each, <c>module_0</c>, <c>module_1</c>, ...: its origin is its first pixel's corner, as far
/// along −x and −y from the image's first pixel as the module is into the detector's image, so a reader that places
/// modules (dxtbx's panels) places them where the detector's image has them, whether the file's frames are that
/// image (a master) or a receiver's stack of its modules. <c>beam_center_x/y</c> are in the file's frames' pixels,
/// as readers take them (see <see cref="BeamInFrames"/>). Optional fields that are unknown are left out; the chain's values that are unknown are NaN, so a
/// reader gets "unknown", never an invented number.
/// </remarks>
public static class Nxmx
{
    public const string Unknown = Core.Parameters.Experiment.Unknown;
    public const string Entry = "/entry";
    public const string Detector = Entry + "/instrument/detector";
    public const string Translation = Detector + "/transformations/translation";
    public const string Module = Detector + "/module";

    public static void Write(Hdf5File file, FrameInfo frame, NxmxFacts facts)
    {
        var metadata = facts.Detector ?? new DetectorMetadata();
        file.CreateGroup(Entry, "NXentry");
        file.SetAttribute(Entry, "default", "data");
        file.WriteString($"{Entry}/definition", "NXmx");
        file.WriteString($"{Entry}/start_time", Timestamp(facts.Start));
        file.CreateGroup($"{Entry}/data", "NXdata");
        file.SetAttribute($"{Entry}/data", "signal", "data");

        file.CreateGroup($"{Entry}/instrument", "NXinstrument");
        file.WriteString($"{Entry}/instrument/name", facts.InstrumentName);
        file.CreateGroup($"{Entry}/source", "NXsource");
        file.WriteString($"{Entry}/source/name", facts.SourceName);
        file.CreateSoftLink($"{Entry}/source", $"{Entry}/instrument/source");
        file.CreateGroup($"{Entry}/instrument/beam", "NXbeam");
        Number(file, $"{Entry}/instrument/beam/incident_wavelength", metadata.IncidentWavelength ?? double.NaN, "angstrom");

        file.CreateGroup($"{Entry}/sample", "NXsample");
        file.WriteString($"{Entry}/sample/name", facts.SampleName);
        // no goniometer: the sample sits at the origin (NXmx allows "." for stills)
        file.WriteString($"{Entry}/sample/depends_on", ".");
        file.CreateSoftLink($"{Entry}/instrument/beam", $"{Entry}/sample/beam");

        WriteDetector(file, frame, metadata, facts.Modules ?? [NxmxModule.InImage(0, 0, frame.Width, frame.Height)]);
    }

    private static void WriteDetector(Hdf5File file, FrameInfo frame, DetectorMetadata metadata, IReadOnlyList<NxmxModule> modules)
    {
        file.CreateGroup(Detector, "NXdetector");
        file.WriteString($"{Detector}/description", metadata.Description ?? Unknown);
        file.WriteString($"{Detector}/sensor_material", metadata.SensorMaterial ?? Unknown);
        Number(file, $"{Detector}/sensor_thickness", metadata.SensorThickness ?? double.NaN, "m");
        Optional(file, "x_pixel_size", metadata.XPixelSize, "m");
        Optional(file, "y_pixel_size", metadata.YPixelSize, "m");
        Optional(file, "distance", metadata.Distance, "m");
        if (metadata is { BeamCenterX: { } x, BeamCenterY: { } y } && BeamInFrames(x, y, modules) is var (frameX, frameY))
        {
            Number(file, $"{Detector}/beam_center_x", frameX, "pixel");
            Number(file, $"{Detector}/beam_center_y", frameY, "pixel");
        }
        Optional(file, "count_time", metadata.CountTime, "s");
        Optional(file, "frame_time", metadata.FrameTime, "s");
        if (metadata.SaturationValue is { } saturation)
            file.WriteArray<long>($"{Detector}/saturation_value", [saturation]);
        file.WriteArray<int>($"{Detector}/bit_depth_image", [frame.PixelType.SizeOf() * 8]);
        if (metadata.BitDepthReadout is { } readout)
            file.WriteArray<int>($"{Detector}/bit_depth_readout", [readout]);

        WritePixelMask(file, frame, metadata.PixelMask);

        file.WriteString($"{Detector}/depends_on", Translation);
        file.CreateGroup($"{Detector}/transformations", "NXtransformations");
        Axis(file, Translation, metadata.Distance ?? double.NaN, [0, 0, 1], [0, 0, 0], ".");

        var (pixelX, pixelY) = (metadata.XPixelSize ?? double.NaN, metadata.YPixelSize ?? double.NaN);
        var (beamX, beamY) = (metadata.BeamCenterX ?? double.NaN, metadata.BeamCenterY ?? double.NaN);
        for (var i = 0; i < modules.Count; i++)
        {
            var (module, at) = (modules.Count == 1 ? Module : $"{Module}_{i}", modules[i]);
            file.CreateGroup(module, "NXdetector_module");
            file.WriteArray<int>($"{module}/data_origin", [at.Y, at.X], 2);
            file.WriteArray<int>($"{module}/data_size", [at.Height, at.Width], 2);
            var offset = $"{module}/module_offset";
            Axis(file, offset, 0, [1, 0, 0], [(beamX - at.DetectorX) * pixelX, (beamY - at.DetectorY) * pixelY, 0], Translation);
            Axis(file, $"{module}/fast_pixel_direction", pixelX, [-1, 0, 0], [0, 0, 0], offset);
            Axis(file, $"{module}/slow_pixel_direction", pixelY, [0, -1, 0], [0, 0, 0], offset);
        }
    }

    /// <summary>
    /// The beam centre (<paramref name="x"/>, <paramref name="y"/>: pixels of the detector's image) in the file's
    /// frames, which is what a reader takes <c>beam_center_x/y</c> for (dxtbx falls back on them for a single panel,
    /// single-image readers place the beam with them): in the grid every module shares (a detector image, one
    /// module), else in the grid of the module the beam hits (a receiver's stack of modules). A stack whose modules
    /// the beam misses has no pixel the beam hits and no common grid: null, the fields are left out (the modules'
    /// chains still place them).
    /// </summary>
    private static (double X, double Y)? BeamInFrames(double x, double y, IReadOnlyList<NxmxModule> modules)
    {
        static (int X, int Y) Shift(NxmxModule m) => (m.DetectorX - m.X, m.DetectorY - m.Y);
        NxmxModule? module = modules.All(m => Shift(m) == Shift(modules[0])) ? modules[0]
            : modules.Where(m => x >= m.DetectorX && x < m.DetectorX + m.Width && y >= m.DetectorY && y < m.DetectorY + m.Height)
                .Cast<NxmxModule?>().FirstOrDefault();
        return module is { } hit ? (x - Shift(hit).X, y - Shift(hit).Y) : null;
    }

    /// <summary>
    /// <c>pixel_mask</c> (uint32 <see cref="PixelMaskBits"/>, shape of a frame, deflated: mostly zeros) and
    /// <c>pixel_mask_applied</c> false: Lima2 hands the frames on as they came, so a reader applies the mask. A mask
    /// that is not the frames' size (frames binned or cropped since) is left out rather than misplaced. Every file of
    /// a run gets the same mask: it is deflated once (a JUNGFRAU 4M's takes tens of ms), then each file copies the chunks.
    /// </summary>
    private static void WritePixelMask(Hdf5File file, FrameInfo frame, uint[]? mask)
    {
        if (mask is null || mask.Length != (long)frame.Width * frame.Height)
            return;
        var rows = Math.Min(frame.Height, MaskChunkRows);
        var chunks = DeflatedMasks.GetValue(mask, m => DeflateRows(m, frame.Width, rows));
        file.WriteDeflatedArray<uint>($"{Detector}/pixel_mask", frame.Height, frame.Width, rows, chunks);
        file.WriteArray<byte>($"{Detector}/pixel_mask_applied", [0]);
    }

    /// <summary>The deflated chunks of each mask written, for as long as the mask lives (a run's facts hold it).</summary>
    private static readonly ConditionalWeakTable<uint[], byte[][]> DeflatedMasks = new();

    /// <summary>Bands of <paramref name="rows"/> rows of <paramref name="width"/> values, the last padded with zeros, each a zlib stream.</summary>
    private static byte[][] DeflateRows(uint[] values, int width, int rows)
    {
        var band = rows * width;
        return [.. Enumerable.Range(0, (values.Length + band - 1) / band).Select(b =>
        {
            var padded = new uint[band];
            values.AsSpan(b * band, Math.Min(band, values.Length - b * band)).CopyTo(padded);
            using var deflated = new MemoryStream();
            using (var zlib = new ZLibStream(deflated, CompressionLevel.Fastest))
                zlib.Write(MemoryMarshal.AsBytes(padded.AsSpan()));
            return deflated.ToArray();
        })];
    }

    /// <summary>
    /// <paramref name="mask"/> (none: all good) with <see cref="PixelMaskBits.User"/> set where <paramref name="user"/>,
    /// a mask file of the processing (nonzero = masked, pyFAI's sense), masks the pixel.
    /// </summary>
    public static uint[] WithUserMask(uint[]? mask, double[] user)
    {
        if (mask is not null && mask.Length != user.Length)
            throw new ArgumentException($"a mask of {user.Length} pixels over one of {mask.Length}", nameof(user));
        var combined = mask is null ? new uint[user.Length] : (uint[])mask.Clone();
        for (var i = 0; i < user.Length; i++)
            if (user[i] != 0)
                combined[i] |= (uint)PixelMaskBits.User;
        return combined;
    }

    /// <summary>Rows per chunk of the pixel mask: a 4M detector's mask in chunks of about 1 MB.</summary>
    private const int MaskChunkRows = 128;

    /// <summary>The entry's <c>end_time</c> (and <c>end_time_estimated</c>, which NXmx requires), once it is known.</summary>
    public static void WriteEndTime(Hdf5File file, DateTimeOffset end)
    {
        file.WriteString($"{Entry}/end_time", Timestamp(end));
        file.WriteString($"{Entry}/end_time_estimated", Timestamp(end));
    }

    /// <summary>ISO 8601 in UTC with the Z suffix, as NXmx asks.</summary>
    public static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A translation of <paramref name="value"/> m along <paramref name="vector"/>, after <paramref name="dependsOn"/>.</summary>
    private static void Axis(Hdf5File file, string path, double value, double[] vector, double[] offset, string dependsOn)
    {
        Number(file, path, value, "m");
        file.SetAttribute(path, "transformation_type", "translation");
        file.SetAttribute<double>(path, "vector", vector);
        file.SetAttribute<double>(path, "offset", offset);
        file.SetAttribute(path, "offset_units", "m");
        file.SetAttribute(path, "depends_on", dependsOn);
    }

    private static void Optional(Hdf5File file, string field, double? value, string units)
    {
        if (value is { } v)
            Number(file, $"{Detector}/{field}", v, units);
    }

    private static void Number(Hdf5File file, string path, double value, string units)
    {
        file.WriteArray<double>(path, [value]);
        file.SetAttribute(path, "units", units);
    }
}
