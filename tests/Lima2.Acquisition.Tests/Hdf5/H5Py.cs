using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Hdf5;

/// <summary>What h5py sees in a file: a dataset's decoded bytes and the file's structure.</summary>
internal sealed record H5PyView(byte[] Data, JsonElement Info)
{
    public long[] Shape => Info.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();

    public string Dtype => Info.GetProperty("dtype").GetString()!;

    public bool Virtual => Info.GetProperty("virtual").GetBoolean();

    public int[] Filters => Info.GetProperty("filters").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public string? Group(string path) => Info.GetProperty("groups").TryGetProperty(path, out var c) ? c.GetString() : null;

    public string? Link(string path) => Info.GetProperty("links").TryGetProperty(path, out var t) ? t.GetString() : null;

    public string? Attribute(string pathAndName) => Info.GetProperty("attrs").TryGetProperty(pathAndName, out var v) ? v.GetString() : null;

    public static H5PyView Read(string file, string dataset)
    {
        var raw = Path.GetTempFileName();
        try
        {
            var output = Python.Run(PythonScripts.Path("h5_read.py"), [file, dataset, raw]);
            var json = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{'));
            return new H5PyView(File.ReadAllBytes(raw), JsonDocument.Parse(json).RootElement.Clone());
        }
        finally
        {
            File.Delete(raw);
        }
    }
}
