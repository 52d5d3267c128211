using System.Runtime.InteropServices;
using Lima2.Core.IO;
using Lima2.TestSupport;

namespace Lima2.PeakFinding.Tests;

/// <summary>PONI parsing, .npy files, the fai JSON block.</summary>
public sealed class FormatTests
{
    [Fact]
    public void PONI_version_1_and_2_files_give_the_same_geometry()
    {
        var v2 = Geometry.ParsePoni("""
            # Nota: C-Order, 1 refers to the Y axis, 2 to the X axis
            # Calibration done at Sun Nov 22 00:00:00 2026
            poni_version: 2
            Detector: Detector
            Detector_config: {"pixel1": 7.5e-05, "pixel2": 7.6e-05, "max_shape": [1024, 1024]}
            Distance: 0.12
            Poni1: 0.0383
            Poni2: 0.0391
            Rot1: 0.01
            Rot2: -0.02
            Rot3: 0.03
            Wavelength: 1e-10
            """);
        var v1 = Geometry.ParsePoni("PixelSize1: 7.5e-05\nPixelSize2: 7.6e-05\nDistance: 0.12\nPoni1: 0.0383\nPoni2: 0.0391\nRot1: 0.01\nRot2: -0.02\nRot3: 0.03\nWavelength: 1e-10\n");
        Assert.Equal(new Geometry(0.12, 0.0383, 0.0391, 0.01, -0.02, 0.03, 7.5e-5, 7.6e-5, 1e-10) { DetectorShape = (1024, 1024) }, v2);
        Assert.Equal(v2 with { DetectorShape = null }, v1); // version 1 files do not say the detector's shape
    }

    [Fact]
    public void Radii_with_three_tilts_equal_pyFAIs_to_float32_precision()
    {
        var g = new Geometry(0.15, 0.0111, 0.0072, 0.05, -0.03, 0.2, 75e-6, 72e-6);
        var dir = Directory.CreateTempSubdirectory("lima2-geom-");
        try
        {
            var poni = Path.Combine(dir.FullName, "g.poni");
            File.WriteAllText(poni, PyFaiOracle.Poni(g, 300, 200));
            var ours = g.RadiusMeters(300, 200);
            NpyFile.Write(Path.Combine(dir.FullName, "ours.npy"), MemoryMarshal.AsBytes(ours.AsSpan()), "<f8", 300, 200);
            var output = Python.Eval($$"""
                import numpy, pyFAI
                ai = pyFAI.load("{{poni}}")
                r = ai.array_from_unit((300, 200), "center", "r_m", scale=False)
                ours = numpy.load("{{dir.FullName}}/ours.npy")
                print(int((r.astype(numpy.float32) != ours.astype(numpy.float32)).sum()), float(numpy.abs(r - ours).max()))
                """);
            var parts = output.Trim().Split(' ');
            Assert.Equal("0", parts[0]);
            Assert.True(double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) < 1e-15, output);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void The_fai_block_reads_Lima2_field_names_and_round_trips()
    {
        var p = FaiParams.Parse("""
            {"error_model": "azimuthal", "cutoff_clip": 0, "cycle": 3, "cutoff_pick": 3.5, "noise": 0.5, "patch_size": 5,
             "connected": 4, "min_nb_peaks": 12, "dense_skip_nohits": true, "dummy": -1, "delta_dummy": 0.5,
             "normalization_factor": 2, "radius_max": 0.1, "acc_nb_frames_reset": 100, "acc_nb_frames_xfer": 10,
             "mask_path": "m.npy", "dark_path": "d.npy", "flat_path": "f.npy", "solid_angle_path": "s.npy",
             "polarization_path": "p.npy", "absorption_path": "a.npy", "dark_variance_path": "dv.npy",
             "radius1d_path": "r1.npy", "radius2d_path": "r2.npy", "csr_path": "c.h5", "cl_source_path": "/cl",
             "dense_intensity_factor": 1, "dense_intensity_offset": 0, "dense_pixel_type": "dense_int32"}
            """);
        Assert.Equal(ErrorModel.Azimuthal, p.ErrorModel);
        Assert.Equal(12, p.MinNbPeaks);
        Assert.Equal("s.npy", p.SolidAnglePath);
        Assert.Equal(p, FaiParams.Parse(p.ToJson()));
        Assert.Contains("\"error_model\": \"azimuthal\"", p.ToJson());
    }

    [Fact]
    public void Calibration_arrays_written_by_numpy_load_with_the_frame_shape()
    {
        var dir = Directory.CreateTempSubdirectory("lima2-calib-");
        try
        {
            Python.Eval($$"""
                import numpy
                numpy.save("{{dir.FullName}}/flat.npy", numpy.full((4, 5), 0.5, numpy.float64))
                numpy.save("{{dir.FullName}}/dark.npy", numpy.arange(20, dtype=numpy.uint16).reshape(4, 5))
                numpy.save("{{dir.FullName}}/gain.npy", numpy.ones((3, 4, 5), numpy.float32) * numpy.array([40, 4, 0.4], numpy.float32)[:, None, None])
                numpy.save("{{dir.FullName}}/ped.npy", numpy.zeros((3, 4, 5), numpy.float32))
                """);
            var p = new FaiParams { FlatPath = $"{dir.FullName}/flat.npy", DarkPath = $"{dir.FullName}/dark.npy" };
            var jf = new JungfrauParams { GainPath = $"{dir.FullName}/gain.npy", PedestalPath = $"{dir.FullName}/ped.npy", PhotonEnergy = 12 };
            var c = Calibration.Load(p, jf, 5, 4);
            Assert.All(c.Flat!, v => Assert.Equal(0.5f, v));
            Assert.Equal(19f, c.Dark![19]);
            Assert.Equal(4f, c.Jungfrau!.Gain[20 + 3]);
            Assert.Equal(0.4f, c.Jungfrau.Gain[40 + 3]);
            Assert.Contains("(4, 5)", Assert.Throws<ReferenceImageException>(() => Calibration.Load(p, null, 4, 5)).Message);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
