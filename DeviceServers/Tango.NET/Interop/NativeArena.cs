using System.Runtime.InteropServices;

namespace Tango.Interop;

/// <summary>NUL-terminated Latin-1 strings (<see cref="NativeText"/>) in native memory for the duration of one call
/// that copies them.</summary>
internal sealed unsafe class NativeArena : IDisposable
{
    private readonly List<nint> _blocks = [];

    public byte* Str(string? s)
    {
        if (s is null)
            return null;
        var p = (byte*)Alloc(NativeText.Size(s));
        NativeText.Write(s, p);
        return p;
    }

    public byte** Strs(IReadOnlyList<string> strings)
    {
        var table = (byte**)Alloc((nuint)(Math.Max(1, strings.Count) * sizeof(byte*)));
        for (var i = 0; i < strings.Count; i++)
            table[i] = Str(strings[i]);
        return table;
    }

    private void* Alloc(nuint bytes)
    {
        var p = NativeMemory.Alloc(bytes);
        _blocks.Add((nint)p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _blocks)
            NativeMemory.Free((void*)p);
        _blocks.Clear();
    }
}
