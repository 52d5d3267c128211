using System.Runtime.InteropServices;
using System.Text;

namespace Tango.Interop;

/// <summary>NUL-terminated strings in native memory for the duration of one call that copies them.</summary>
internal sealed unsafe class NativeArena : IDisposable
{
    private readonly List<nint> _blocks = [];

    public byte* Str(string? s)
    {
        if (s is null)
            return null;
        var p = (byte*)Alloc(s.Length + 1);
        var n = Encoding.Latin1.GetBytes(s, new Span<byte>(p, s.Length));
        p[n] = 0;
        return p;
    }

    public byte** Strs(IReadOnlyList<string> strings)
    {
        var table = (byte**)Alloc(Math.Max(1, strings.Count) * sizeof(byte*));
        for (var i = 0; i < strings.Count; i++)
            table[i] = Str(strings[i]);
        return table;
    }

    private void* Alloc(int bytes)
    {
        var p = NativeMemory.Alloc((nuint)bytes);
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
