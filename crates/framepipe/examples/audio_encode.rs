//! Encodes raw interleaved f32le samples with framepipe's audio encoders, for
//! bench/bench_audio.py: AAC as an ADTS stream, Opus as an Ogg Opus file. Prints one JSON line
//! on stderr: packets, bytes, the encoder's CPU time (the process, all threads; reading and writing the files
//! excluded), the priming.
//!
//! `aac-fast` is AAC with FFmpeg's "fast" coder instead of its default "twoloop" (measurements only).
//!
//!   cargo run --release -p framepipe --example audio_encode -- aac|aac-fast|opus KBPS RATE CHANNELS IN.f32 OUT

use framepipe::testing::{new_audio_encoder, AacCoder, AacEncoder, AudioCodec, AudioConfig, AudioEncoder};
use std::time::Duration;

fn process_cpu() -> Duration {
    // utime + stime of the process (all threads), in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 7 {
        eprintln!("usage: audio_encode aac|aac-fast|opus KBPS RATE CHANNELS IN.f32 OUT");
        std::process::exit(2);
    }
    let fast = a[1] == "aac-fast";
    let codec = AudioCodec::parse(if fast { "aac" } else { &a[1] }).unwrap();
    let kbps: u32 = a[2].parse().unwrap();
    let rate: u32 = a[3].parse().unwrap();
    let channels: u16 = a[4].parse().unwrap();
    let bytes = std::fs::read(&a[5]).unwrap();
    let pcm: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();

    let t0 = process_cpu();
    let mut enc: Box<dyn AudioEncoder> = if fast {
        Box::new(AacEncoder::with_coder(rate, channels, kbps * 1000, AacCoder::Fast).unwrap())
    } else {
        new_audio_encoder(codec, rate, channels, Some(kbps * 1000), rate).unwrap()
    };
    let mut packets = Vec::new();
    // Chunks of 10 ms, as a streaming writer would send them.
    for chunk in pcm.chunks(rate as usize / 100 * channels as usize) {
        enc.send_samples(chunk).unwrap();
        while let Some(p) = enc.receive_packet() {
            packets.push(p);
        }
    }
    enc.flush().unwrap();
    while let Some(p) = enc.receive_packet() {
        packets.push(p);
    }
    let cpu = process_cpu() - t0;

    let n = (pcm.len() / channels as usize) as u64;
    let mut out = Vec::new();
    match enc.config() {
        AudioConfig::Aac(c) => {
            // 6.1 (configuration 0) signals its layout in a program config element, which
            // goes in before the first access unit and counts in its frame's length.
            let mut pce = c.adts_pce().unwrap().unwrap_or_default();
            for p in &packets {
                out.extend_from_slice(&c.adts_header(pce.len() + p.data.len()).unwrap());
                out.append(&mut pce);
                out.extend_from_slice(&p.data);
            }
        }
        AudioConfig::Opus(c) => {
            use ogg::writing::{PacketWriteEndInfo, PacketWriter};
            let mut w = PacketWriter::new(&mut out);
            w.write_packet(c.opus_head(), 1, PacketWriteEndInfo::EndPage, 0).unwrap();
            let mut tags = b"OpusTags".to_vec();
            tags.extend_from_slice(&9u32.to_le_bytes());
            tags.extend_from_slice(b"framepipe");
            tags.extend_from_slice(&0u32.to_le_bytes());
            w.write_packet(tags, 1, PacketWriteEndInfo::EndPage, 0).unwrap();
            for (i, p) in packets.iter().enumerate() {
                let last = i + 1 == packets.len();
                let granule = if last { u64::from(c.pre_skip) + n } else { (p.pts + i64::from(p.duration)) as u64 };
                let end = if last { PacketWriteEndInfo::EndStream } else { PacketWriteEndInfo::NormalPacket };
                w.write_packet(p.data.clone(), 1, end, granule).unwrap();
            }
        }
    }
    std::fs::write(&a[6], &out).unwrap();
    eprintln!(
        "{{\"packets\": {}, \"bytes\": {}, \"encode_cpu_s\": {:.3}, \"priming\": {}, \"clipped\": {}}}",
        packets.len(),
        out.len(),
        cpu.as_secs_f64(),
        enc.priming(),
        enc.stats().clipped
    );
}
