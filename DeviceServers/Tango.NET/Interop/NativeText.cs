using System.Runtime.InteropServices;
using System.Text;

namespace Tango.Interop;

/// <summary>
/// Strings for the shim, for servers, clients and the error channel alike. Tango strings are CORBA strings without an encoding; cppTango servers and PyTango 9
/// treat them as Latin-1, so every byte 0–255 maps to one char and any string read back writes back unchanged.
/// Characters above U+00FF cannot travel and become '?'.
/// </summary>
internal static unsafe class NativeText
{
    internal static readonly Encoding Encoding = Encoding.Latin1;

    internal static string Read(byte* s) => s == null ? "" : Encoding.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(s));

    /// <summary>Writes <paramref name="s"/> NUL-terminated at <paramref name="destination"/>, which holds
    /// <see cref="Size"/> bytes; returns the byte after the NUL.</summary>
    internal static byte* Write(string s, byte* destination)
    {
        var n = Encoding.GetBytes(s, new Span<byte>(destination, s.Length));
        destination[n] = 0;
        return destination + n + 1;
    }

    /// <summary>Bytes <see cref="Write"/> needs: Latin-1 has at most one byte per UTF-16 unit, plus the NUL.</summary>
    internal static nuint Size(string s) => (nuint)s.Length + 1;

    internal static string[] ReadArray(byte** strings, long count)
    {
        var result = new string[count];
        for (long i = 0; i < count; i++)
            result[i] = Read(strings[i]);
        return result;
    }

    /// <summary>Reads and frees a shim table (rows of strings).</summary>
    internal static string[][] TakeTable(nint table)
    {
        try
        {
            return ReadTable(table);
        }
        finally
        {
            ClientNative.TableFree(table);
        }
    }

    /// <summary>Reads a shim table that the shim keeps.</summary>
    internal static string[][] ReadTable(nint table)
    {
        var rows = new string[ClientNative.TableRows(table)][];
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r] = new string[ClientNative.TableCols(table, r)];
            for (var c = 0; c < rows[r].Length; c++)
                rows[r][c] = Read(ClientNative.TableCell(table, r, c));
        }
        return rows;
    }
}

/// <summary>
/// Nul-terminated Latin-1 copies of strings in one native block, with the array of pointers to them
/// (<c>const char* const*</c>), freed on dispose.
/// </summary>
internal sealed unsafe class NativeStrings : IDisposable
{
    private byte* _block;

    public NativeStrings(params IReadOnlyList<string> strings)
    {
        Count = strings.Count;
        var pointersSize = (nuint)(sizeof(byte*) * Math.Max(Count, 1));
        nuint textSize = 0;
        foreach (var s in strings)
            textSize += NativeText.Size(s);
        _block = (byte*)NativeMemory.Alloc(pointersSize + textSize);
        Pointers = (byte**)_block;
        var text = _block + pointersSize;
        for (var i = 0; i < Count; i++)
        {
            Pointers[i] = text;
            text = NativeText.Write(strings[i], text);
        }
    }

    public int Count { get; }

    public byte** Pointers { get; }

    public byte* this[int index] => Pointers[index];

    public void Dispose()
    {
        NativeMemory.Free(_block);
        _block = null;
    }
}
