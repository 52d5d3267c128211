using System.Runtime.InteropServices;

namespace Lima2.Protocol;

// Records of the pop* getters, packed exactly as the numpy dtypes lima2-client reads them with.

/// <summary>ROI statistics and ROI profile rows: <c>frame_idx i4, recv_idx i4, min f4, max f4, avg f4, std f4, sum f8</c>.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct RoiStatisticsRecord(int FrameIdx, int RecvIdx, float Min, float Max, float Avg, float Std, double Sum);

/// <summary>SMX peak counters: <c>frame_idx i4, recv_idx i4, nb_peaks i4</c>.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct PeakCounterRecord(int FrameIdx, int RecvIdx, int NbPeaks);

/// <summary>XPCS fill factors: <c>frame_idx i4, recv_idx i4, fill_factor i4</c>.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct FillFactorRecord(int FrameIdx, int RecvIdx, int FillFactor);

/// <summary>Frame index lookup for dynamic dispatch: receiver-local index, then global index.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct FrameIdxRecord(int RecvIdx, int FrameIdx);
