/* FFmpeg's native AAC encoder from a minimal static libavcodec (bench/audio_codecs.md says how
 * that build is made): interleaved f32le in, ADTS out, the encoder's CPU time on stderr.
 * Only for the codec comparison; framepipe does not link FFmpeg.
 *
 *   ffmpeg_min_aac IN.f32 OUT.aac RATE CHANNELS BITRATE
 */
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <libavutil/channel_layout.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const int rates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                            22050, 16000, 12000, 11025, 8000,  7350};

static void adts(FILE *f, int rate, int ch, int len) {
  int sf = 0;
  while (rates[sf] != rate) sf++;
  int n = len + 7;
  unsigned char h[7] = {0xFF, 0xF1, (unsigned char)((1 << 6) | (sf << 2) | (ch >> 2)),
                        (unsigned char)(((ch & 3) << 6) | (n >> 11)), (unsigned char)((n >> 3) & 0xFF),
                        (unsigned char)(((n & 7) << 5) | 0x1F), 0xFC};
  fwrite(h, 1, 7, f);
}

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: %s IN.f32 OUT.aac RATE CHANNELS BITRATE [CODER: twoloop (default), fast]\n", argv[0]);
    return 2;
  }
  int rate = atoi(argv[3]), ch = atoi(argv[4]);
  long bitrate = atol(argv[5]);
  FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
  if (!in || !out) return perror("open"), 1;
  fseek(in, 0, SEEK_END);
  long n = ftell(in) / 4 / ch;
  fseek(in, 0, SEEK_SET);
  float *pcm = malloc(n * ch * 4);
  if (fread(pcm, 4, n * ch, in) != (size_t)(n * ch)) return fprintf(stderr, "short read\n"), 1;

  double t0 = cpu_seconds();
  const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
  AVCodecContext *c = avcodec_alloc_context3(codec);
  c->sample_rate = rate;
  c->bit_rate = bitrate;
  c->sample_fmt = AV_SAMPLE_FMT_FLTP;
  av_channel_layout_default(&c->ch_layout, ch);
  c->thread_count = 1;
  if (argc == 7 && av_opt_set(c->priv_data, "aac_coder", argv[6], 0) < 0)
    return fprintf(stderr, "unknown aac_coder %s\n", argv[6]), 2;
  if (avcodec_open2(c, codec, NULL) < 0) return fprintf(stderr, "avcodec_open2 failed\n"), 1;
  AVFrame *fr = av_frame_alloc();
  AVPacket *pkt = av_packet_alloc();
  long packets = 0, bytes = 0;
  for (long pos = 0;; pos += c->frame_size) {
    int ret;
    if (pos < n) {
      int len = n - pos < c->frame_size ? (int)(n - pos) : c->frame_size;
      fr->nb_samples = len;
      fr->format = c->sample_fmt;
      av_channel_layout_copy(&fr->ch_layout, &c->ch_layout);
      fr->pts = pos;
      av_frame_get_buffer(fr, 0);
      for (int k = 0; k < ch; k++) {
        float *plane = (float *)fr->data[k];
        for (int i = 0; i < len; i++) plane[i] = pcm[(pos + i) * ch + k];
      }
      ret = avcodec_send_frame(c, fr);
      av_frame_unref(fr);
    } else {
      ret = avcodec_send_frame(c, NULL);
    }
    if (ret < 0) return fprintf(stderr, "send_frame failed\n"), 1;
    while ((ret = avcodec_receive_packet(c, pkt)) == 0) {
      adts(out, rate, ch, pkt->size);
      fwrite(pkt->data, 1, pkt->size, out);
      packets++;
      bytes += pkt->size + 7;
      av_packet_unref(pkt);
    }
    if (ret == AVERROR_EOF) break;
  }
  double cpu = cpu_seconds() - t0;
  double dur = (double)n / rate;
  fprintf(stderr, "packets %ld bytes %ld kbps %.1f cpu %.3fs (%.0fx realtime) priming %d\n", packets, bytes,
          bytes * 8 / dur / 1000, cpu, dur / cpu, c->initial_padding);
  fclose(out);
  avcodec_free_context(&c);
  return 0;
}
