/* Bragg-peak finding: preprocessing, per-bin sigma clipping, background, sparsify, peak picking.
 * Lima2.Tango's own kernels, written from the formulas of pyFAI's peak finder (MIT, (c) ESRF, J. Kieffer)
 * as documented in research/peakfinding.md; the algorithm's parameters and pyFAI 0.21.3 compatibility
 * switch (LEGACY) match the C# reference engine.
 *
 * Build-time options (only these trigger a compilation; every other setting is a kernel argument):
 *   PIXEL_T          type of the frame's pixels (uchar, char, ushort, short, uint, int, float, double)
 *   ACC_DOUBLE       accumulate bin sums in double (cl_khr_fp64)
 * Run-time flags (argument `flags`): FLAG_JUNGFRAU (raw ushort pixels hold a 2-bit gain stage and a 14-bit ADC
 * value), FLAG_DARK, FLAG_DARK_VARIANCE, FLAG_VARIANCE (variance array instead of
 * Poisson), FLAG_DUMMY, FLAG_LEGACY (pyFAI 0.21.3 rules: sigma normalised by sum(w), no border/mask voiding in
 * picking, no e > 0 condition). Error model (argument `model`): 0 poisson/variance, 1 azimuthal, 2 hybrid.
 */
#define FLAG_DARK 1
#define FLAG_DARK_VARIANCE 2
#define FLAG_VARIANCE 4
#define FLAG_DUMMY 8
#define FLAG_LEGACY 16
#define FLAG_JUNGFRAU 32
#pragma OPENCL FP_CONTRACT OFF /* no fused multiply-add: the C# reference rounds every step */

#ifdef ACC_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#else
typedef float acc_t;
#endif


inline float read_pixel(global const PIXEL_T *image, int p, global const float *gain, global const float *pedestal,
                        int npix, float inv_photon, int flags)
{
    if (!(flags & FLAG_JUNGFRAU))
        return (float)image[p];
    uint raw = (uint)image[p];
    uint stage = raw >> 14;
    if (stage == 2u)
        return NAN;
    int at = (stage == 3u ? 2 : (int)stage) * npix + p;
    return ((float)(raw & 0x3FFFu) - pedestal[at]) / gain[at] * inv_photon;
}

/* (signal, variance, normalisation); normalisation 0 marks an invalid pixel */
inline float3 preprocess(float value, int p, float w, global const float *dark, global const float *dark_variance,
                         global const float *variance, float dummy, float delta_dummy, int flags)
{
    if (w == 0.0f)
        return (float3)(0.0f);
    if ((flags & FLAG_DUMMY) && ((delta_dummy != 0.0f) ? (fabs(value - dummy) <= delta_dummy) : (value == dummy)))
        return (float3)(0.0f);
    float s = value;
    float v = (flags & FLAG_VARIANCE) ? variance[p] : fmax(value, 1.0f);
    if (flags & FLAG_DARK)
        s -= dark[p];
    if (flags & FLAG_DARK_VARIANCE)
        v += dark_variance[p];
    if (!isfinite(s) || !isfinite(v)) /* NaN or ±Inf (a Jungfrau gain of 0): no measurement */
        return (float3)(0.0f);
    return (float3)(s, v, w);
}

/* One work-item per unmasked pixel, in bin order: the clipping kernel then reads contiguous memory. Only the
 * frame is gathered; the calibration arrays given here are already permuted into bin order. */
kernel void preprocess_sorted(global const PIXEL_T *image, global const int *pixels, int nvalid, int npix,
                              global const float *omega_s, global const float *dark_s, global const float *dark_variance_s,
                              global const float *variance_s, global const float *gain, global const float *pedestal,
                              float inv_photon, float dummy, float delta_dummy, int flags,
                              global float *S, global float *V, global float *W)
{
    int k = get_global_id(0);
    if (k >= nvalid)
        return;
    float value = read_pixel(image, pixels[k], gain, pedestal, npix, inv_photon, flags);
    float3 r = preprocess(value, k, omega_s[k], dark_s, dark_variance_s, variance_s, dummy, delta_dummy, flags);
    S[k] = r.x;
    V[k] = r.y;
    W[k] = r.z;
}

#define NSUMS 7
/* sums: S, V, W, W2, S2/W, S2, W*S */
inline void add_pixel(acc_t *a, float s, float v, float w)
{
    a[0] += s;
    a[1] += v;
    a[2] += w;
    a[3] += (acc_t)w * w;
    a[4] += (acc_t)s * s / w;
    a[5] += (acc_t)s * s;
    a[6] += (acc_t)w * s;
}

/* mean, clipping std, reported std; NaN when the bin is empty */
inline float3 bin_stats(const acc_t *a, int model, int legacy)
{
    if (!(a[2] > 0))
        return (float3)(NAN);
    acc_t mean = a[0] / a[2];
    acc_t poisson = legacy ? a[1] / a[2] : a[1] / a[3];
    acc_t azim = legacy ? a[4] / a[2] - mean * mean : (a[5] - 2 * mean * a[6] + mean * mean * a[3]) / a[3];
    float az = (float)sqrt(fmax(azim, (acc_t)0));
    float po = (float)sqrt(poisson);
    if (model == 1)
        return (float3)((float)mean, az, az);
    if (model == 2)
        return (float3)((float)mean, az, po);
    return (float3)((float)mean, po, po);
}

/* Sums the work-group's partial sums (and counts) into a[] of every work-item. */
inline int reduce(acc_t *a, int count, local acc_t *scratch, local int *counts)
{
    int lid = get_local_id(0), L = get_local_size(0);
    if (L == 1)
        return count;
    for (int i = 0; i < NSUMS; i++)
        scratch[i * L + lid] = a[i];
    counts[lid] = count;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = L / 2; step > 0; step /= 2) {
        if (lid < step) {
            for (int i = 0; i < NSUMS; i++)
                scratch[i * L + lid] += scratch[i * L + lid + step];
            counts[lid] += counts[lid + step];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < NSUMS; i++)
        a[i] = scratch[i * L];
    int total = counts[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/* One work-group per radial bin (local size a power of two, 1 on CPUs). Each cycle tests the pixels still
 * alive against the previous statistics and sums the survivors in the same pass; a rejected pixel gets
 * W = 0 and never comes back. */
kernel void sigma_clip(global const float *S, global const float *V, global float *W, global const int *bin_start,
                       int cycle, float cutoff, int model, int flags, global float *avg, global float *std,
                       local acc_t *scratch, local int *counts)
{
    int bin = get_group_id(0);
    int lid = get_local_id(0), L = get_local_size(0);
    int b0 = bin_start[bin], b1 = bin_start[bin + 1];
    acc_t a[NSUMS];
    for (int i = 0; i < NSUMS; i++) a[i] = 0;
    for (int k = b0 + lid; k < b1; k += L) {
        float w = W[k];
        if (w != 0.0f)
            add_pixel(a, S[k], V[k], w);
    }
    reduce(a, 0, scratch, counts);
    int legacy = flags & FLAG_LEGACY;
    float3 st = bin_stats(a, model, legacy);
    int nbpix = max(3, b1 - b0);
    for (int c = 0; c < cycle; c++) {
        if (!(isfinite(st.x) && isfinite(st.y)))
            break;
        float chauvenet = fmax(cutoff, sqrt(2.0f * log((float)nbpix / sqrt(2.0f * M_PI_F))));
        float threshold = st.y * chauvenet;
        for (int i = 0; i < NSUMS; i++) a[i] = 0;
        int rejected = 0;
        for (int k = b0 + lid; k < b1; k += L) {
            float w = W[k];
            if (w == 0.0f)
                continue;
            float s = S[k];
            if (fabs(s / w - st.x) > threshold) {
                W[k] = 0.0f;
                rejected++;
            } else {
                add_pixel(a, s, V[k], w);
            }
        }
        rejected = reduce(a, rejected, scratch, counts);
        if (rejected == 0)
            break;
        nbpix = max(3, nbpix - rejected);
        st = bin_stats(a, model, legacy);
    }
    if (lid == 0) {
        avg[bin] = isfinite(st.x) ? st.x : 0.0f;
        std[bin] = isfinite(st.z) ? st.z : 0.0f;
    }
}

/* Per pixel: excess e = s/w - B and uncertainty U = sqrt(sigma_B^2 + noise^2) with B, sigma_B interpolated
 * along the radius; sparsify (e > max(noise, cutoff_pick U)); optional accumulation. */
kernel void background(global const PIXEL_T *image, int npix, global const float *omega, global const float *dark,
                       global const float *dark_variance, global const float *variance, global const float *gain,
                       global const float *pedestal, float inv_photon, float dummy, float delta_dummy, int flags,
                       global const float *bg_pos, global const float *avg, global const float *std, int nbins,
                       float noise, float cutoff_pick, global float *E, global float *U,
                       global int *counters, int sparse_capacity, global int *sparse_index, global float *sparse_signal,
                       int accumulate, global float *acc_corrected, global float *acc_peaks)
{
    int p = get_global_id(0);
    if (p >= npix)
        return;
    float value = read_pixel(image, p, gain, pedestal, npix, inv_photon, flags);
    float3 r = preprocess(value, p, omega[p], dark, dark_variance, variance, dummy, delta_dummy, flags);
    float pos = bg_pos[p];
    float bg = INFINITY, sb = 0.0f;
    if (!isnan(pos)) {
        if (!(flags & FLAG_LEGACY))
            pos = fmin(pos, (float)(nbins - 1));
        int j = min(convert_int_rtz(pos), nbins - 1);
        float f = pos - j;
        if (j + 1 < nbins) {
            bg = avg[j] * (1.0f - f) + avg[j + 1] * f;
            sb = std[j] * (1.0f - f) + std[j + 1] * f;
        } else {
            bg = avg[j];
            sb = std[j];
        }
    }
    float u = sqrt(sb * sb + noise * noise);
    float x = r.z > 0.0f ? r.x / r.z : 0.0f;
    float e = r.z > 0.0f ? x - bg : 0.0f;
    E[p] = e;
    U[p] = u;
    bool kept = e > fmax(noise, cutoff_pick * u);
    if (kept) {
        int at = atomic_inc(counters);
        if (at < sparse_capacity) {
            sparse_index[at] = p;
            sparse_signal[at] = r.x;
        }
    }
    if (accumulate) {
        acc_corrected[p] += x;
        if (kept)
            acc_peaks[p] += x;
    }
}

/* peakfinder8-style picking: a pixel is a peak when it is intense (e >= cutoff U), the maximum of its patch
 * and at least `connected` pixels of the patch are intense. Centroid, sum and sigma over patch pixels with e > 0. */
kernel void pick(global const float *E, global const float *U, int height, int width, float cutoff_pick,
                 int half_patch, int connected, int flags, global int *counters, int peak_capacity, global int *peak_index, global float4 *peaks)
{
    int col = get_global_id(0), row = get_global_id(1);
    if (row >= height || col >= width)
        return;
    int p = row * width + col;
    float ec = E[p];
    int legacy = flags & FLAG_LEGACY;
    if (!(ec >= cutoff_pick * U[p]) || (!legacy && !(ec > 0.0f)))
        return;
    int active = 0;
    float local_max = 0.0f, sum_int = 0.0f, sum_var = 0.0f, som0 = 0.0f, som1 = 0.0f;
    for (int di = -half_patch; di <= half_patch; di++) {
        for (int dj = -half_patch; dj <= half_patch; dj++) {
            int r = row + di, c = col + dj;
            float e = -1.0f, u = 0.0f;
            if (r >= 0 && r < height && c >= 0 && c < width) {
                e = E[r * width + c];
                u = U[r * width + c];
            }
            if (legacy) {
                if (e >= cutoff_pick * u)
                    active++;
            } else {
                if (e <= 0.0f && u <= 0.0f)
                    return; /* touches the border or an unusable pixel */
                if (e > 0.0f && e >= cutoff_pick * u)
                    active++;
            }
            local_max = fmax(local_max, e);
            if (e > 0.0f) {
                som0 += di * e;
                som1 += dj * e;
                sum_int += e;
                sum_var += u * u;
            }
        }
    }
    if (ec == local_max && active >= connected) {
        int at = atomic_inc(counters + 1);
        if (at < peak_capacity) {
            peak_index[at] = p;
            peaks[at] = (float4)(som0 / sum_int + (float)row, som1 / sum_int + (float)col, sum_int, sqrt(sum_var));
        }
    }
}
