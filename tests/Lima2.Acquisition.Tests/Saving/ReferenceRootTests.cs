using Lima2.Core.IO;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>Reference images are read only from under the receiver's reference root, never through a link.</summary>
public sealed class ReferenceRootTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("references-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("elsewhere-").FullName;
    private readonly SavingRoot _references;
    private readonly ReferenceImages _images;

    public ReferenceRootTests()
    {
        _references = new SavingRoot(_root);
        _images = Hdf5ReferenceImageReader.Images.Under(_references.Root, _references.OpenRead);
        foreach (var folder in new[] { _root, _outside })
        {
            Directory.CreateDirectory(Path.Combine(folder, "masks"));
            NpyFile.Write(Path.Combine(folder, "masks", "mask.npy"), new byte[6], "|u1", 2, 3);
            using var h5 = Hdf5File.Create(Path.Combine(folder, "masks", "ref.h5"), overwrite: false);
            h5.WriteArray<double>("/flat", [1, 2, 3, 4, 5, 6], 2, 3);
        }
    }

    public void Dispose()
    {
        _references.Dispose();
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_outside, recursive: true);
    }

    [Theory]
    [InlineData("masks/mask.npy")]
    [InlineData("masks/ref.h5:/flat")]
    public void An_image_under_the_root_reads_by_its_relative_or_absolute_path(string path)
    {
        Assert.Equal((3, 2), Size(_images.Read(path, "mask")));
        Assert.Equal((3, 2), Size(_images.Read(Path.Combine(_root, path), "mask")));
    }

    [Theory]
    [InlineData("masks/mask.npy")]
    [InlineData("masks/ref.h5:/flat")]
    public void An_image_outside_the_root_a_link_out_of_it_and_a_missing_one_are_refused_alike(string path)
    {
        Directory.CreateSymbolicLink(Path.Combine(_root, "linked"), Path.Combine(_outside, "masks"));
        File.CreateSymbolicLink(Path.Combine(_root, "masks", "planted.npy"), Path.Combine(_outside, "masks", "mask.npy"));
        var file = path.Split(':')[0];

        string Refusal(string asked) => Assert.Throws<ReferenceImageException>(() => _images.Read(asked, "mask")).Message;
        string Expected(string asked) => $"mask: {asked} is not a file under the reference root {_references.Root}";

        Assert.Equal(Expected(Path.Combine(_outside, file)), Refusal(Path.Combine(_outside, path)));
        Assert.Equal(Expected(file.Replace("masks/", "linked/")), Refusal(path.Replace("masks/", "linked/")));
        Assert.Equal(Expected("masks/planted.npy"), Refusal("masks/planted.npy"));
        Assert.Equal(Expected(file.Replace("masks/", "masks/../../x/")), Refusal(path.Replace("masks/", "masks/../../x/")));
        Assert.Equal(Expected(Path.Combine(_outside, "missing.npy")), Refusal(Path.Combine(_outside, "missing.npy")));
        Assert.Equal(Expected("masks/missing.npy"), Refusal("masks/missing.npy"));
    }

    private static (int, int) Size((int Width, int Height, double[] Values) image) => (image.Width, image.Height);
}
