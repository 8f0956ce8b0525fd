/* framepipe's AAC encoder: FFmpeg's native AAC encoder ("aac" in libavcodec), behind a handful of
 * functions so that the Rust side (src/encode/aac.rs) never sees a libavcodec struct. Compiled by
 * build.rs with the `cc` crate and linked with the minimal static libavcodec/libavutil of
 * scripts/build-codecs.sh (ffmpeg-aac). The encoder is used exactly as `ffmpeg -c:a aac -b:a N`
 * uses it: the default coder (twoloop) and options, planar float frames of 1024 samples (the last
 * one may be shorter), pts in samples, so its output is that of FFmpeg's CLI of the same version.
 *
 * Messages: libavcodec logs through av_log, which by default prints to stderr (the encoder prints
 * "Qavg: ..." at every close). This libavutil is framepipe's own copy (static, its symbols local
 * to the binary), so its one log callback is set here, once: it prints nothing and keeps the first
 * error-level message of the calling thread since the current call began (libavcodec's first
 * line says what is wrong; lines after it may be details, e.g. one supported rate each), which
 * fp_aac_error() returns after a failing call (every call runs the encoder synchronously on the
 * caller's thread).
 *
 * Return values: 0 success, negative an AVERROR code (then fp_aac_error() says more).
 */
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct fp_aac {
    AVCodecContext *ctx;
    AVFrame *frame;
    AVPacket *pkt;
    int64_t next_pts; /* samples sent so far: the pts of the next frame */
    int flushed;
} fp_aac;

static _Thread_local char last_error[512];

static void log_callback(void *avcl, int level, const char *fmt, va_list vl) {
    (void)avcl;
    if (level > AV_LOG_ERROR || last_error[0])
        return;
    vsnprintf(last_error, sizeof last_error, fmt, vl);
    size_t n = strlen(last_error);
    while (n > 0 && (last_error[n - 1] == '\n' || last_error[n - 1] == ' '))
        last_error[--n] = 0;
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static void set_log_callback(void) { av_log_set_callback(log_callback); }

/* Records `what` and the code's text as the error when libavcodec logged nothing. */
static int fail(int code, const char *what) {
    if (!last_error[0]) {
        char buf[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(code, buf, sizeof buf);
        snprintf(last_error, sizeof last_error, "%s: %s", what, buf);
    }
    return code;
}

const char *fp_aac_error(void) { return last_error; }

/* The channel layouts, by count, in the WAV/FFmpeg order of framepipe's samples (src/audio/mod.rs):
 * those the encoder codes with a standard channel configuration (1-6, and 7 for 7.1), and 6.1,
 * which it codes with a program config element (PCE) in the AudioSpecificConfig, as `ffmpeg -c:a
 * aac` does for a 6.1 input. */
static int layout_for(int channels, AVChannelLayout *out) {
    static const AVChannelLayout layouts[8] = {
        AV_CHANNEL_LAYOUT_MONO,         AV_CHANNEL_LAYOUT_STEREO,       AV_CHANNEL_LAYOUT_SURROUND,
        AV_CHANNEL_LAYOUT_4POINT0,      AV_CHANNEL_LAYOUT_5POINT0_BACK, AV_CHANNEL_LAYOUT_5POINT1_BACK,
        AV_CHANNEL_LAYOUT_6POINT1,      AV_CHANNEL_LAYOUT_7POINT1,
    };
    if (channels < 1 || channels > 8)
        return AVERROR(EINVAL);
    return av_channel_layout_copy(out, &layouts[channels - 1]);
}

void fp_aac_close(fp_aac *a) {
    if (!a)
        return;
    avcodec_free_context(&a->ctx);
    av_frame_free(&a->frame);
    av_packet_free(&a->pkt);
    av_free(a);
}

/* An encoder for `channels` channels (1-8) of `sample_rate` Hz at `bit_rate` bit/s; `coder` is
 * NULL for the encoder's default ("twoloop") or one of "twoloop", "fast" (for measurements). */
int fp_aac_open(fp_aac **out, int sample_rate, int channels, int64_t bit_rate, const char *coder) {
    pthread_once(&log_once, set_log_callback);
    last_error[0] = 0;
    *out = NULL;
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    if (!codec)
        return fail(AVERROR_ENCODER_NOT_FOUND, "libavcodec has no \"aac\" encoder");
    fp_aac *a = av_mallocz(sizeof *a);
    if (!a)
        return fail(AVERROR(ENOMEM), "allocating the encoder");
    int ret = AVERROR(ENOMEM);
    if (!(a->ctx = avcodec_alloc_context3(codec)) || !(a->frame = av_frame_alloc()) || !(a->pkt = av_packet_alloc()))
        goto error;
    a->ctx->sample_rate = sample_rate;
    a->ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
    a->ctx->bit_rate = bit_rate;
    a->ctx->time_base = (AVRational){1, sample_rate};
    a->ctx->thread_count = 1;
    if ((ret = layout_for(channels, &a->ctx->ch_layout)) < 0)
        goto error;
    if (coder && (ret = av_opt_set(a->ctx->priv_data, "aac_coder", coder, 0)) < 0) {
        fail(ret, "the aac_coder option");
        goto error;
    }
    if ((ret = avcodec_open2(a->ctx, codec, NULL)) < 0) {
        fail(ret, "opening the encoder");
        goto error;
    }
    if (a->ctx->frame_size != 1024 || a->ctx->extradata_size <= 0) {
        ret = AVERROR_BUG;
        fail(ret, "the encoder did not set up 1024-sample frames and an AudioSpecificConfig");
        goto error;
    }
    *out = a;
    return 0;
error:
    fail(ret, "setting up the encoder");
    fp_aac_close(a);
    return ret;
}

/* The AudioSpecificConfig (ISO 14496-3 1.6.2.1), valid until fp_aac_close; its length. */
int fp_aac_extradata(const fp_aac *a, const uint8_t **data) {
    *data = a->ctx->extradata;
    return a->ctx->extradata_size;
}

/* The encoder delay in samples (AVCodecContext.initial_padding). */
int fp_aac_initial_padding(const fp_aac *a) { return a->ctx->initial_padding; }

/* The bitrate the encoder uses (it lowers what it cannot code: 6144 bits per channel per frame). */
int64_t fp_aac_bit_rate(const fp_aac *a) { return a->ctx->bit_rate; }

/* Sends `frames` sample frames of interleaved float samples (1..1024; fewer than 1024 only for the
 * last send), or, with samples NULL, the end of the stream. */
int fp_aac_send(fp_aac *a, const float *samples, int frames) {
    last_error[0] = 0;
    int ret;
    if (!samples) {
        a->flushed = 1;
        if ((ret = avcodec_send_frame(a->ctx, NULL)) < 0)
            return fail(ret, "flushing the encoder");
        return 0;
    }
    int ch = a->ctx->ch_layout.nb_channels;
    if (frames < 1 || frames > a->ctx->frame_size)
        return fail(AVERROR(EINVAL), "a frame of 1 to 1024 samples");
    AVFrame *f = a->frame;
    av_frame_unref(f);
    f->nb_samples = frames;
    f->format = AV_SAMPLE_FMT_FLTP;
    f->sample_rate = a->ctx->sample_rate;
    f->pts = a->next_pts;
    if ((ret = av_channel_layout_copy(&f->ch_layout, &a->ctx->ch_layout)) < 0 || (ret = av_frame_get_buffer(f, 0)) < 0)
        return fail(ret, "allocating a frame");
    for (int c = 0; c < ch; c++) {
        float *plane = (float *)f->extended_data[c];
        for (int i = 0; i < frames; i++)
            plane[i] = samples[(size_t)i * ch + c];
    }
    ret = avcodec_send_frame(a->ctx, f);
    av_frame_unref(f);
    if (ret < 0)
        return fail(ret, "encoding a frame");
    a->next_pts += frames;
    return 0;
}

/* The next packet: 1 with data and size (valid until the next fp_aac_receive or fp_aac_close),
 * *pts and *duration (samples, on the input's timeline: the first packet's pts is
 * -initial_padding); 0 when the encoder needs more input; 2 at the end of the stream (after the
 * flush); negative on error. */
int fp_aac_receive(fp_aac *a, const uint8_t **data, int *size, int64_t *pts, int64_t *duration) {
    last_error[0] = 0;
    av_packet_unref(a->pkt);
    int ret = avcodec_receive_packet(a->ctx, a->pkt);
    if (ret == AVERROR(EAGAIN))
        return 0;
    if (ret == AVERROR_EOF)
        return 2;
    if (ret < 0)
        return fail(ret, "receiving a packet");
    *data = a->pkt->data;
    *size = a->pkt->size;
    *pts = a->pkt->pts;
    *duration = a->pkt->duration;
    return 1;
}

/* libavcodec's version, e.g. "Lavc61.19.101" (what the encoder writes into its streams). */
const char *fp_aac_libavcodec_ident(void) { return LIBAVCODEC_IDENT; }
