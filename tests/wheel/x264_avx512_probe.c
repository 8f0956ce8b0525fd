/* Is x264's AVX-512 code still unsafe for framepipe? (crates/framepipe/src/encode/x264.rs masks
 * X264_CPU_AVX512 because the AVX-512 `mbtree_propagate_list` read past the end of its rows, so
 * the heap's old contents changed the file.) A probe for a machine whose CPU has AVX-512, run by
 * hand against the static x264 the wheel links (scripts/build-codecs.sh x264); docs/packaging.md
 * has the command and the answer for the x264 the wheel ships.
 *
 * It encodes the same 6 frames of 64x48 (framepipe's settings: preset medium, crf 23, profile
 * high, one thread so that only the heap varies) 20 times, each after filling and freeing heap
 * blocks with a different byte, once with x264's CPU flags as detected and once without AVX-512,
 * and prints how many different streams each gave: 1 means the output does not depend on the
 * heap's contents.
 *
 *   cc -O2 -I PREFIX/include tests/wheel/x264_avx512_probe.c PREFIX/lib/libx264.a -lpthread -lm -ldl
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x264.h>

enum { W = 64, H = 48, N = 6, RUNS = 20 };

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void dirty_heap(int fill) {
    void *blocks[64];
    for (int i = 0; i < 64; i++) {
        size_t size = 256 + (size_t)i * 997;
        blocks[i] = malloc(size);
        memset(blocks[i], fill, size);
    }
    for (int i = 0; i < 64; i++) free(blocks[i]);
}

static uint64_t encode(int no_avx512) {
    x264_param_t p;
    if (x264_param_default_preset(&p, "medium", NULL) < 0) exit(2);
    if (no_avx512) p.cpu &= ~X264_CPU_AVX512;
    p.i_log_level = X264_LOG_ERROR;
    p.i_threads = 1;
    p.i_width = W;
    p.i_height = H;
    p.i_csp = X264_CSP_I420;
    p.i_fps_num = 30;
    p.i_fps_den = 1;
    p.rc.i_rc_method = X264_RC_CRF;
    p.rc.f_rf_constant = 23;
    if (x264_param_apply_profile(&p, "high") < 0) exit(2);
    x264_t *h = x264_encoder_open(&p);
    if (!h) exit(2);
    x264_picture_t pic, out;
    if (x264_picture_alloc(&pic, X264_CSP_I420, W, H) < 0) exit(2);
    uint64_t hash = 14695981039346656037ULL;
    x264_nal_t *nal;
    int n_nal;
    for (int f = 0; f <= N; f++) {
        x264_picture_t *in = NULL;
        if (f < N) { /* a smooth moving gradient */
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) pic.img.plane[0][y * pic.img.i_stride[0] + x] = (uint8_t)(16 + x * 2 + y + 3 * f);
            for (int y = 0; y < H / 2; y++)
                for (int x = 0; x < W / 2; x++) {
                    pic.img.plane[1][y * pic.img.i_stride[1] + x] = (uint8_t)(100 + x + f);
                    pic.img.plane[2][y * pic.img.i_stride[2] + x] = (uint8_t)(150 - y + f);
                }
            pic.i_pts = f;
            in = &pic;
        }
        do {
            int size = x264_encoder_encode(h, &nal, &n_nal, in, &out);
            if (size < 0) exit(2);
            for (int i = 0; i < n_nal; i++)
                if (nal[i].i_type != NAL_SEI) hash = fnv(hash, nal[i].p_payload, (size_t)nal[i].i_payload);
        } while (!in && x264_encoder_delayed_frames(h) > 0);
    }
    x264_picture_clean(&pic);
    x264_encoder_close(h);
    return hash;
}

int main(void) {
    x264_param_t p;
    x264_param_default(&p);
    printf("x264 %s; the CPU flags x264 detects include AVX-512: %s\n", X264_POINTVER,
           (p.cpu & X264_CPU_AVX512) ? "yes" : "no");
    for (int no_avx512 = 0; no_avx512 <= 1; no_avx512++) {
        uint64_t seen[RUNS];
        int distinct = 0;
        for (int r = 0; r < RUNS; r++) {
            dirty_heap(r * 13 + 1);
            uint64_t h = encode(no_avx512);
            int known = 0;
            for (int i = 0; i < distinct; i++) known |= seen[i] == h;
            if (!known) seen[distinct++] = h;
        }
        printf("%s: %d different stream(s) from %d encodes of the same frames\n",
               no_avx512 ? "AVX-512 masked (framepipe)" : "AVX-512 as detected", distinct, RUNS);
    }
    return 0;
}
