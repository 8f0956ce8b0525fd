/* The audio encoders of issue 23 as the wheel would link them: libopus and FFmpeg's native AAC
 * encoder, static, from scripts/build-codecs.sh, linked by zig cc for glibc 2.28 (run by hand;
 * docs/packaging.md has the commands and the sizes). Encodes one second of a 48 kHz stereo
 * tone (440 Hz left, 660 Hz right) with each:
 *   opus: encodes 20 ms packets at 128 kb/s, decodes them with libopus and prints the SNR against
 *         the source (after the encoder's lookahead);
 *   aac:  encodes with FFmpeg's "aac" encoder at 128 kb/s into an ADTS stream on stdout, which
 *         ffmpeg decodes for the comparison (the probe has no AAC decoder).
 * Built with only one of them (-DWITH_OPUS or -DWITH_AAC, or neither: the baseline), the
 * difference in the stripped sizes is what the library adds to a binary.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RATE = 48000, CH = 2, N = RATE };

static float tone(int i, int c) { return 0.5f * sinf(2.0f * (float)M_PI * (c ? 660.0f : 440.0f) * (float)i / RATE); }

#ifdef WITH_OPUS
#include <opus.h>
static int probe_opus(void) {
    int err;
    OpusEncoder *enc = opus_encoder_create(RATE, CH, OPUS_APPLICATION_AUDIO, &err);
    OpusDecoder *dec = opus_decoder_create(RATE, CH, &err);
    if (!enc || !dec) return 1;
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(128000));
    opus_int32 lookahead;
    opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&lookahead));
    enum { F = RATE / 50 };
    static float in[(N + 2 * F) * CH], out[(N + 2 * F) * CH];
    for (int i = 0; i < N; i++)
        for (int c = 0; c < CH; c++) in[i * CH + c] = tone(i, c);
    unsigned char pkt[4000];
    long bytes = 0;
    for (int at = 0; at < N + F; at += F) {
        int n = opus_encode_float(enc, in + at * CH, F, pkt, sizeof pkt);
        if (n < 0) return 1;
        bytes += n;
        if (opus_decode_float(dec, pkt, n, out + at * CH, F, 0) != F) return 1;
    }
    double sig = 0, noise = 0;
    for (int i = RATE / 10; i < N - RATE / 10; i++) /* away from the start-up */
        for (int c = 0; c < CH; c++) {
            double s = in[i * CH + c], d = out[(i + lookahead) * CH + c] - s;
            sig += s * s, noise += d * d;
        }
    fprintf(stderr, "opus %s: %ld bytes for 1 s, SNR %.1f dB\n", opus_get_version_string(), bytes, 10 * log10(sig / noise));
    opus_encoder_destroy(enc);
    opus_decoder_destroy(dec);
    return 0;
}
#endif

#ifdef WITH_AAC
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
static void adts(FILE *f, int len) { /* AAC LC, 48 kHz (index 3), 2 channels */
    int n = len + 7;
    unsigned char h[7] = {0xFF, 0xF1, (1 << 6) | (3 << 2), (unsigned char)((2 << 6) | (n >> 11)),
                          (unsigned char)(n >> 3), (unsigned char)(((n & 7) << 5) | 0x1F), 0xFC};
    fwrite(h, 1, 7, f);
}
static int probe_aac(void) {
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    if (!codec || !ctx) return 1;
    ctx->sample_rate = RATE;
    ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
    ctx->bit_rate = 128000;
    av_channel_layout_default(&ctx->ch_layout, CH);
    if (avcodec_open2(ctx, codec, NULL) < 0) return 1;
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    long bytes = 0;
    for (int at = 0;; at += ctx->frame_size) {
        int last = at >= N;
        if (!last) {
            frame->nb_samples = ctx->frame_size;
            frame->format = ctx->sample_fmt;
            av_channel_layout_copy(&frame->ch_layout, &ctx->ch_layout);
            if (av_frame_get_buffer(frame, 0) < 0) return 1;
            for (int c = 0; c < CH; c++)
                for (int i = 0; i < ctx->frame_size; i++) ((float *)frame->data[c])[i] = at + i < N ? tone(at + i, c) : 0;
            frame->pts = at;
        }
        if (avcodec_send_frame(ctx, last ? NULL : frame) < 0) return 1;
        av_frame_unref(frame);
        while (avcodec_receive_packet(ctx, pkt) == 0) {
            adts(stdout, pkt->size);
            fwrite(pkt->data, 1, pkt->size, stdout);
            bytes += pkt->size;
            av_packet_unref(pkt);
        }
        if (last) break;
    }
    fprintf(stderr, "aac (libavcodec %s): %ld bytes for 1 s\n", AV_STRINGIFY(LIBAVCODEC_VERSION), bytes);
    avcodec_free_context(&ctx);
    return 0;
}
#endif

int main(void) {
    int rc = 0;
#ifdef WITH_OPUS
    rc |= probe_opus();
#endif
#ifdef WITH_AAC
    rc |= probe_aac();
#endif
    fprintf(stderr, "done: %s\n", rc ? "FAILED" : "ok");
    return rc;
}
