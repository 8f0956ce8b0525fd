//! The MP4 muxer alone, for bench/bench_crash.py: the packets of an MP4 (demuxed, so no
//! encoding is timed) written `repeat` times over into a new file, timing the writes and
//! `finish` (the closing: the moov, and moving the media data behind it).
//!
//! ```sh
//! cargo build --release --example mux_close -p framepipe
//! target/release/examples/mux_close in.mp4 out.mp4 10   # prints one JSON line
//! ```
//!
//! Only the writer API that every framepipe version has is used (`Mp4Writer::create`,
//! `write_packet`, `finish`), so the same file builds against an older checkout and the two
//! muxers are compared on the same packets.

use framepipe::testing::{Mp4Demuxer, Mp4Writer};
use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: mux_close IN.mp4 OUT.mp4 REPEAT".into());
    }
    let repeat: i64 = args[3].parse()?;
    let mut demux = Mp4Demuxer::new(BufReader::new(File::open(&args[1])?))?;
    let track = demux.track().clone();
    let mut packets = Vec::new();
    while let Some(p) = demux.read_packet()? {
        packets.push(p);
    }
    let n = packets.len() as i64;
    let t0 = Instant::now();
    let mut w = Mp4Writer::create(std::path::Path::new(&args[2]), track)?;
    for k in 0..repeat {
        for p in &packets {
            let mut q = p.clone();
            q.pts += k * n;
            q.dts += k * n;
            w.write_packet(&q)?;
        }
    }
    let t1 = Instant::now();
    w.finish()?;
    let t2 = Instant::now();
    let bytes = std::fs::metadata(&args[2])?.len();
    println!(
        "{{\"frames\": {}, \"write_s\": {:.6}, \"finish_s\": {:.6}, \"bytes\": {bytes}}}",
        n * repeat,
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64()
    );
    Ok(())
}
