using System.Runtime.InteropServices;

namespace Lima2.Hdf5.Native;

/// <summary>An HDF5 identifier (<c>hid_t</c>) closed by the function of its kind.</summary>
internal abstract class Hdf5Handle : SafeHandle
{
    protected Hdf5Handle(long id, string what) : base(0, ownsHandle: true) =>
        SetHandle((nint)H5.Check(id, what));

    public override bool IsInvalid => handle <= 0;

    public long Id => (long)handle;
}

internal sealed class FileHandle(long id, string what) : Hdf5Handle(id, what)
{
    /// <summary>Closes the file now and reports what failed (e.g. metadata that did not fit on the disk).</summary>
    public void Close(string what)
    {
        if (IsClosed)
            return;
        var result = H5.H5Fclose(Id);
        SetHandleAsInvalid();
        H5.Check(result, what);
    }

    protected override bool ReleaseHandle() => H5.H5Fclose(Id) >= 0;
}

internal sealed class GroupHandle(long id, string what) : Hdf5Handle(id, what)
{
    protected override bool ReleaseHandle() => H5.H5Gclose(Id) >= 0;
}

internal sealed class DatasetHandle(long id, string what) : Hdf5Handle(id, what)
{
    protected override bool ReleaseHandle() => H5.H5Dclose(Id) >= 0;
}

internal sealed class SpaceHandle(long id, string what) : Hdf5Handle(id, what)
{
    protected override bool ReleaseHandle() => H5.H5Sclose(Id) >= 0;
}

internal sealed class PropertyListHandle(long id, string what) : Hdf5Handle(id, what)
{
    protected override bool ReleaseHandle() => H5.H5Pclose(Id) >= 0;
}

internal sealed class TypeHandle(long id, string what) : Hdf5Handle(id, what)
{
    protected override bool ReleaseHandle() => H5.H5Tclose(Id) >= 0;
}

internal sealed class AttributeHandle(long id, string what) : Hdf5Handle(id, what)
{
    protected override bool ReleaseHandle() => H5.H5Aclose(Id) >= 0;
}
