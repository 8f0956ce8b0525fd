//! Fuzzing the readers (issue 21): mutated MP4 and GIF files through everything that reads a
//! file framepipe did not write itself: `probe` (MP4 and GIF, by bytes and by path), `repair`
//! (into a scratch directory), the fragment reader (through both), the demuxer (`Mp4Demuxer`,
//! every packet read) and concat's reader (`Mp4Concat::append`). Stable Rust, no fuzzing
//! framework: a hand-written mutator driven by a fixed-seed PRNG over a corpus of real files.
//!
//! **The corpus** (`tests/fuzz_corpus/`, 40 KB): framepipe's own MP4s (an unfinished,
//! fragmented file as a killed writer leaves it, and a finished faststart one; the same two
//! with an AAC sound track), ffmpeg's
//! (fragmented with `-movflags frag_keyframe+empty_moov`, one fragment a frame with default
//! sample sizes, faststart with an audio track before the video, moov at the end) and GIFs
//! (framepipe's and ffmpeg's). Committed, so that the same seed makes the same case on every
//! machine; `cargo test --release -p framepipe --test fuzz -- --ignored regenerate_corpus`
//! makes them again (needs ffmpeg).
//!
//! **A case** is one corpus file with 1 to 4 mutations: bit flips, bytes set to edge values,
//! bytes inserted and deleted, truncation (anywhere, or near a box boundary), a box's size
//! changed, an entry count or sample size or flags field of a table box set to an edge or huge
//! value (stts, ctts, stss, stsz, stsc, stco/co64, elst, trun, tfhd, trex, ...), a box
//! duplicated, removed, swapped with a sibling (with or without the parents' sizes fixed),
//! a span repeated many times (many GIF images) and a range spliced in from another corpus
//! file. Each case's seed follows from the run's base seed and the case number.
//!
//! **Checks**, per case: no panic (each reader runs under `catch_unwind`), no abort, no hang
//! (a watchdog fails the test when one case runs longer than [`CASE_TIMEOUT`]), memory within
//! a bound: the bytes the case's thread holds at its peak, counted by this test binary's global
//! allocator, stay under [`MEMORY_PER_INPUT_BYTE`] times the input's size plus
//! [`MEMORY_FIXED`] (an allocation far beyond it is refused before it is made, with the seed
//! printed, since the process then aborts). And what comes out must be true: a file `repair`
//! or `Mp4Concat` makes probes as whole, with the frames they report.
//!
//! **Running it**: `cargo test --release -p framepipe --test fuzz` runs [`DEFAULT_CASES`]
//! cases from the fixed base seed (600,000: about 40 s on a free core, a minute or more on a
//! busy machine; `scripts/test.sh` runs it with the other Rust tests). Environment variables:
//! - `FRAMEPIPE_FUZZ_SECONDS=600`: run for that long instead (the same sequence, further);
//! - `FRAMEPIPE_FUZZ_CASES=n`: run n cases;
//! - `FRAMEPIPE_FUZZ_SEED=n`: another base seed (decimal or 0x hex);
//! - `FRAMEPIPE_FUZZ_REPLAY=seed`: run one case, the seed a failure printed, writing its input
//!   to the scratch directory printed (`FRAMEPIPE_FUZZ_VERBOSE=1` prints every case's seed
//!   before running it).
//!
//! The crafted files of issue 21 have regression tests below (`issue21_*`), under the same
//! memory accounting; a defect the fuzzer finds gets one too, from its minimized input.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Cursor, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use framepipe::testing::probe_gif_reader;
use framepipe::testing::{probe, probe_reader, repair, Mp4Concat, Mp4Demuxer};

/// Cases run by default: about 40 s on one free core in a release build (`cargo test
/// --release`, what scripts/test.sh runs), a minute or more on a busy machine; fewer in a debug
/// build, which is about four times slower (and checks arithmetic for overflow).
const DEFAULT_CASES: u64 = if cfg!(debug_assertions) { 150_000 } else { 600_000 };
/// The default base seed.
const DEFAULT_SEED: u64 = 0x2100_f022;
/// Longest one case may take (generous: the suite shares two cores with other work).
const CASE_TIMEOUT: Duration = Duration::from_secs(20);
/// Memory a case may hold at its peak: this many bytes per byte of input... (the readers'
/// design bound: a list of 40-byte frames from tables of 4 bytes a frame, or of frames of at
/// least 5 bytes; the most seen in 300,000 cases was 4 bytes per byte plus 9 KB)
const MEMORY_PER_INPUT_BYTE: usize = 12;
/// ...plus this much.
const MEMORY_FIXED: usize = 256 << 10;
/// An allocation that would take the case this many times over its bound is refused (the
/// process then aborts, after printing the case's seed).
const REFUSE_FACTOR: usize = 8;

// ---------------------------------------------------------------------------------------------
// The counting allocator: live bytes per thread, and their peak, for the case's thread.
// ---------------------------------------------------------------------------------------------

struct Counting;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread (frees of another thread's blocks make
    /// it drift down, never up: the readers free what they allocate).
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// Largest `LIVE` a case may reach before an allocation is refused (0: no limit), and the
    /// seed to print then.
    static REFUSE_ABOVE: Cell<isize> = const { Cell::new(0) };
    static CASE_SEED: Cell<u64> = const { Cell::new(0) };
    /// The size of the last allocation refused (0: none).
    static REFUSED: Cell<usize> = const { Cell::new(0) };
}

fn count(delta: isize) -> bool {
    LIVE.try_with(|live| {
        let now = live.get() + delta;
        let limit = REFUSE_ABOVE.try_with(Cell::get).unwrap_or(0);
        // Never while panicking: the panic hook's backtrace takes memory, and a refusal there
        // would deadlock on the backtrace lock the hook holds.
        if delta > 0 && limit > 0 && now > limit && !std::thread::panicking() {
            refuse(delta as usize, limit as usize);
            return false;
        }
        live.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        true
    })
    .unwrap_or(true)
}

/// Print which case asked for too much (without allocating: the allocator is the caller).
fn refuse(size: usize, limit: usize) {
    let _ = REFUSED.try_with(|r| r.set(size));
    let seed = CASE_SEED.try_with(Cell::get).unwrap_or(0);
    let mut buf = [0u8; 256];
    let mut w = &mut buf[..];
    let _ = write!(
        w,
        "\nfuzz: case {seed:#x} asked for {size} bytes, more than {limit} in all (refused); replay it with \
         FRAMEPIPE_FUZZ_REPLAY={seed:#x}\n"
    );
    let len = 256 - w.len();
    stderr_raw(&buf[..len]);
}

/// Write to file descriptor 2 directly: no lock, no allocation.
fn stderr_raw(msg: &[u8]) {
    use std::os::fd::FromRawFd;
    // SAFETY: descriptor 2 stays open for the life of the process, and ManuallyDrop keeps this
    // File from closing it.
    let mut f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(2) });
    let _ = f.write_all(msg);
}

// SAFETY: every call is passed on to the system allocator unchanged; the counting only reads
// and writes this thread's counters (const-initialised thread locals without destructors,
// which never allocate).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !count(layout.size() as isize) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !count(layout.size() as isize) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !count(new_size as isize - layout.size() as isize) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Run `f` on this thread, refusing allocations far beyond `bound` bytes more held at once;
/// returns its result, the most it held, and the size of an allocation refused (0: none).
fn measured<T>(seed: u64, bound: usize, f: impl FnOnce() -> T) -> (T, usize, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    CASE_SEED.with(|s| s.set(seed));
    REFUSED.with(|r| r.set(0));
    REFUSE_ABOVE.with(|r| r.set(base + bound.saturating_mul(REFUSE_FACTOR) as isize));
    let out = f();
    REFUSE_ABOVE.with(|r| r.set(0));
    let peak = PEAK.with(Cell::get);
    (out, (peak - base).max(0) as usize, REFUSED.with(Cell::get))
}

// ---------------------------------------------------------------------------------------------
// PRNG and corpus
// ---------------------------------------------------------------------------------------------

/// SplitMix64: small, fast, and the same sequence everywhere.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The seed of case `index` of a run from `base`.
fn case_seed(base: u64, index: u64) -> u64 {
    Rng(base ^ index.wrapping_mul(0xd134_2543_de82_ef95)).next()
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus")
}

/// The corpus files, by name order.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir())
        .expect("tests/fuzz_corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("mp4" | "gif")))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "the fuzz corpus is missing files: {:?}", files.iter().map(|f| &f.0).collect::<Vec<_>>());
    files
}

// ---------------------------------------------------------------------------------------------
// Box structure, for the structure-aware mutations
// ---------------------------------------------------------------------------------------------

/// A box found in a file: where it starts, its header length, its size, its type, and the
/// indices of its ancestors in the list.
#[derive(Clone, Debug)]
struct Span {
    pos: usize,
    header: usize,
    size: usize,
    kind: [u8; 4],
    parents: Vec<usize>,
}

/// Boxes whose body is a list of boxes (after `skip` bytes).
fn container_skip(kind: &[u8; 4]) -> Option<usize> {
    match kind {
        b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts" | b"dinf" | b"mvex" | b"moof" | b"traf" | b"udta"
        | b"mfra" | b"ilst" => Some(0),
        b"meta" => Some(4),
        b"stsd" | b"dref" => Some(8),
        b"avc1" | b"avc3" | b"mp4v" => Some(78),
        b"mp4a" => Some(28),
        _ => None,
    }
}

fn spans(data: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    walk(data, 0, data.len(), &[], &mut out, 0);
    out
}

fn walk(data: &[u8], mut pos: usize, end: usize, parents: &[usize], out: &mut Vec<Span>, depth: usize) {
    while pos + 8 <= end && depth < 12 && out.len() < 4096 {
        let size32 = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = data[pos + 4..pos + 8].try_into().unwrap();
        let (header, size) = match size32 {
            0 => (8, end - pos),
            1 if pos + 16 <= end => (16, u64::from_be_bytes(data[pos + 8..pos + 16].try_into().unwrap()) as usize),
            s => (8, s),
        };
        if size < header || size > end - pos || !kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            return;
        }
        let me = out.len();
        out.push(Span { pos, header, size, kind, parents: parents.to_vec() });
        if let Some(skip) = container_skip(&kind) {
            let mut p = parents.to_vec();
            p.push(me);
            walk(data, pos + header + skip, pos + size, &p, out, depth + 1);
        }
        pos += size;
    }
}

/// Add `delta` to the 32-bit size of each of `boxes` (the parents of a box that grew or shrank).
fn fix_sizes(data: &mut [u8], all: &[Span], boxes: &[usize], delta: isize) {
    for &i in boxes {
        let s = &all[i];
        if s.header == 8 && s.pos + 4 <= data.len() {
            let old = u32::from_be_bytes(data[s.pos..s.pos + 4].try_into().unwrap());
            if old != 0 {
                let new = (old as isize + delta).clamp(0, u32::MAX as isize) as u32;
                data[s.pos..s.pos + 4].copy_from_slice(&new.to_be_bytes());
            }
        }
    }
}

/// Where a table box keeps its entry count (or for tfhd/trex, a default-size field), from the
/// start of its body.
fn count_field(kind: &[u8; 4]) -> Option<usize> {
    match kind {
        b"stts" | b"ctts" | b"stss" | b"stco" | b"co64" | b"stsc" | b"elst" | b"trun" | b"dref" | b"stsd" | b"sbgp"
        | b"sgpd" | b"tfdt" | b"mfhd" => Some(4),
        b"stsz" | b"stz2" | b"trex" => Some(8),
        b"tfhd" => Some(8),
        b"mdhd" | b"mvhd" => Some(12),
        _ => None,
    }
}

const EDGE_U32: [u32; 14] =
    [0, 1, 2, 7, 8, 0x7f, 0xff, 0xffff, 0x10000, 1 << 24, 2_000_000, 0x7fff_ffff, 0x8000_0000, u32::MAX];

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// The input of case `seed`: which corpus file, and the file mutated. Also says what was done.
fn make_case(seed: u64, corpus: &[(String, Vec<u8>)]) -> (Vec<u8>, String) {
    let mut rng = Rng(seed);
    let (name, original) = rng.pick(corpus);
    let mut data = original.clone();
    let mut log = vec![name.clone()];
    let n = 1 + rng.below(4);
    for _ in 0..n {
        let what = mutate(&mut rng, &mut data, corpus);
        log.push(what);
        if data.is_empty() {
            break;
        }
    }
    (data, log.join(", "))
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[(String, Vec<u8>)]) -> String {
    let len = data.len();
    if len == 0 {
        return "empty".into();
    }
    let boxes = spans(data);
    match rng.below(16) {
        0 | 1 => {
            let k = 1 + rng.below(8);
            for _ in 0..k {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            format!("{k} bit flips")
        }
        2 => {
            let at = rng.below(len);
            data[at] = *rng.pick(&[0u8, 1, 0x7f, 0x80, 0xff, 0x21, 0x2c, 0x3b]);
            format!("byte {at} set")
        }
        3 => {
            let at = rng.below(len + 1);
            let k = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..k).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes);
            format!("{k} bytes inserted at {at}")
        }
        4 => {
            let at = rng.below(len);
            let k = (1 + rng.below(64)).min(len - at);
            data.drain(at..at + k);
            format!("{k} bytes deleted at {at}")
        }
        5 => {
            let cut = if !boxes.is_empty() && rng.chance(2) {
                let b = rng.pick(&boxes);
                let edge = if rng.chance(2) { b.pos } else { b.pos + b.size };
                (edge + rng.below(17)).saturating_sub(8).min(len)
            } else {
                rng.below(len + 1)
            };
            data.truncate(cut);
            format!("cut at {cut}")
        }
        6 | 7 if !boxes.is_empty() => {
            let b = rng.pick(&boxes).clone();
            let size: u32 = match rng.below(8) {
                0 => *rng.pick(&EDGE_U32),
                1 => (b.size as u32).wrapping_add(1 + rng.below(16) as u32),
                2 => (b.size as u32).wrapping_sub(1 + rng.below(16) as u32),
                3 => (len - b.pos) as u32,
                4 => (b.size as u32).wrapping_mul(2),
                _ => rng.next() as u32 % (len as u32 + 64),
            };
            data[b.pos..b.pos + 4].copy_from_slice(&size.to_be_bytes());
            format!("size of {} at {} set to {size}", String::from_utf8_lossy(&b.kind), b.pos)
        }
        8 | 9 => {
            let tables: Vec<&Span> = boxes.iter().filter(|s| count_field(&s.kind).is_some()).collect();
            if tables.is_empty() {
                return "no table".into();
            }
            let b = *rng.pick(&tables);
            let at = match rng.below(4) {
                0 => rng.below(4) * 4,
                // An entry of the table (a sample's size, duration, flags, offset...).
                1 => 4 * rng.below(((b.size - b.header) / 4).max(1)),
                _ => count_field(&b.kind).unwrap(),
            };
            let field = b.pos + b.header + at;
            if field + 4 > b.pos + b.size {
                return "table too short".into();
            }
            let old = u32::from_be_bytes(data[field..field + 4].try_into().unwrap());
            let v = match rng.below(4) {
                0 => old.wrapping_add(1),
                1 => old.wrapping_sub(1),
                2 => rng.next() as u32,
                _ => *rng.pick(&EDGE_U32),
            };
            data[field..field + 4].copy_from_slice(&v.to_be_bytes());
            format!("field at {field} of {} set to {v}", String::from_utf8_lossy(&b.kind))
        }
        10 if !boxes.is_empty() => {
            let i = rng.below(boxes.len());
            let b = &boxes[i];
            let copy = data[b.pos..b.pos + b.size].to_vec();
            if copy.len() > 1 << 20 {
                return "box too large to copy".into();
            }
            let times = if rng.chance(4) { 1 + rng.below(200) } else { 1 };
            let times = times.min((256 << 10) / copy.len().max(1)).max(1);
            let at = b.pos + b.size;
            let grown: Vec<u8> = copy.iter().copied().cycle().take(copy.len() * times).collect();
            data.splice(at..at, grown);
            if rng.chance(2) {
                fix_sizes(data, &boxes, &b.parents, (copy.len() * times) as isize);
            }
            format!("{} at {} repeated {times} times", String::from_utf8_lossy(&b.kind), b.pos)
        }
        11 if !boxes.is_empty() => {
            let i = rng.below(boxes.len());
            let b = &boxes[i];
            data.drain(b.pos..b.pos + b.size);
            if rng.chance(2) {
                fix_sizes(data, &boxes, &b.parents, -(b.size as isize));
            }
            format!("{} at {} removed", String::from_utf8_lossy(&b.kind), b.pos)
        }
        12 if boxes.len() >= 2 => {
            // Swap a box with a later sibling.
            let i = rng.below(boxes.len());
            let a = boxes[i].clone();
            let sibs: Vec<&Span> = boxes.iter().filter(|s| s.parents == a.parents && s.pos > a.pos).collect();
            let Some(b) = sibs.first().map(|s| (*s).clone()) else { return "no sibling".into() };
            let b = if rng.chance(2) { b } else { (*rng.pick(&sibs)).clone() };
            let (ab, mid, bb) = (
                data[a.pos..a.pos + a.size].to_vec(),
                data[a.pos + a.size..b.pos].to_vec(),
                data[b.pos..b.pos + b.size].to_vec(),
            );
            let mut swapped = bb;
            swapped.extend_from_slice(&mid);
            swapped.extend_from_slice(&ab);
            data.splice(a.pos..b.pos + b.size, swapped);
            format!(
                "{} at {} swapped with {}",
                String::from_utf8_lossy(&a.kind),
                a.pos,
                String::from_utf8_lossy(&b.kind)
            )
        }
        13 => {
            // A small span repeated many times (many GIF images, many boxes).
            let at = rng.below(len);
            let k = (1 + rng.below(32)).min(len - at);
            let times = 2 + rng.below(2000);
            let span = data[at..at + k].to_vec();
            let grown: Vec<u8> = span.iter().copied().cycle().take(k * times).collect();
            data.splice(at..at, grown);
            format!("{k} bytes at {at} repeated {times} times")
        }
        14 => {
            let (other_name, other) = rng.pick(corpus);
            let from = rng.below(other.len());
            let k = (1 + rng.below(512)).min(other.len() - from);
            let at = rng.below(len);
            let end = (at + rng.below(512)).min(len);
            data.splice(at..end, other[from..from + k].iter().copied());
            format!("{k} bytes of {other_name} spliced at {at}")
        }
        _ => {
            // A 64-bit size for a box (size field 1, largesize after the type).
            if boxes.is_empty() {
                return "no box".into();
            }
            let b = rng.pick(&boxes).clone();
            let large = match rng.below(3) {
                0 => u64::MAX,
                1 => (b.size + 8) as u64,
                _ => rng.next() >> rng.below(64),
            };
            data[b.pos..b.pos + 4].copy_from_slice(&1u32.to_be_bytes());
            data.splice(b.pos + 8..b.pos + 8, large.to_be_bytes());
            format!("{} at {} given largesize {large}", String::from_utf8_lossy(&b.kind), b.pos)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The readers under test
// ---------------------------------------------------------------------------------------------

/// How often each reader accepted its input (a fuzzer whose cases are all refused at the first
/// byte tests nothing): probe MP4, probe GIF, demuxer, concat, repair.
static ACCEPTED: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
const READERS: [&str; 5] = ["probe (MP4)", "probe (GIF)", "demuxer", "concat", "repair"];

/// The most a case held beyond [`MEMORY_PER_INPUT_BYTE`] times its input, over the run.
static MOST_OVER: AtomicU64 = AtomicU64::new(0);

fn accepted(reader: usize) {
    ACCEPTED[reader].fetch_add(1, Ordering::Relaxed);
}

/// Run every reader over `data` (written to `dir/case.mp4` for the path-based ones). Err: a
/// reader panicked, or what it made is wrong (the message says which).
fn run_readers(data: &[u8], dir: &Path) -> Result<(), String> {
    let guard = |what: &str, f: &mut dyn FnMut() -> Result<(), String>| -> Result<(), String> {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => r.map_err(|e| format!("{what}: {e}")),
            Err(p) => {
                // The panic hook's backtrace keeps memory (its symbol cache): stop refusing
                // allocations, the case has failed anyway.
                REFUSE_ABOVE.with(|r| r.set(0));
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("{what} panicked: {msg}"))
            }
        }
    };
    guard("probe (MP4)", &mut || {
        if let Ok(info) = probe_reader(Cursor::new(data)) {
            let _ = (info.to_string(), info.truncation_warning());
            accepted(0);
        }
        Ok(())
    })?;
    guard("probe (GIF)", &mut || {
        if let Ok(info) = probe_gif_reader(Cursor::new(data)) {
            let _ = info.to_string();
            accepted(1);
        }
        Ok(())
    })?;
    guard("demuxer", &mut || {
        if let Ok(mut d) = Mp4Demuxer::new(Cursor::new(data)) {
            let _ = d.track();
            while let Ok(Some(_)) = d.read_packet() {}
            accepted(2);
        }
        Ok(())
    })?;
    guard("concat", &mut || {
        let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
        if let Ok(n) = c.append(Cursor::new(data)) {
            // What concat made of it is a whole MP4 of those frames.
            let (frames, out) = c.finish().map_err(|e| format!("finish after appending {n} frames: {e}"))?;
            let info = probe_reader(Cursor::new(out.into_inner())).map_err(|e| format!("probe of its output: {e}"))?;
            if frames != n || info.frame_count != n || info.truncated() {
                return Err(format!("appended {n} frames, made {frames}, its output probes as {info:?}"));
            }
            accepted(3);
        }
        Ok(())
    })?;
    let input = dir.join("case.mp4");
    std::fs::write(&input, data).map_err(|e| format!("writing the case: {e}"))?;
    guard("probe (path)", &mut || {
        let _ = framepipe::probe::probe_file(&input);
        Ok(())
    })?;
    guard("repair", &mut || {
        let out = dir.join("repaired.mp4");
        let _ = std::fs::remove_file(&out);
        if let Ok(r) = repair(&input, Some(&out)) {
            accepted(4);
            if !r.was_finished {
                // A repaired file is whole, with the frames repair says.
                let info = probe(&out).map_err(|e| format!("probe of its output: {e}"))?;
                if info.frame_count != r.frames || info.truncated() || info.fragmented {
                    return Err(format!("repaired {} frames, its output probes as {info:?}", r.frames));
                }
            }
        }
        Ok(())
    })?;
    // The input is never changed.
    let after = std::fs::read(&input).map_err(|e| format!("reading the case back: {e}"))?;
    if after != data {
        return Err("the input file was changed".into());
    }
    Ok(())
}

/// The bound on what one case may hold, for an input of `len` bytes.
fn memory_bound(len: usize) -> usize {
    len.saturating_mul(MEMORY_PER_INPUT_BYTE) + MEMORY_FIXED
}

/// A scratch directory for the path-based readers: in /dev/shm when there is one (repair
/// syncs what it writes, which costs nothing there), else the system's temp dir.
fn scratch() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let root = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    let dir = root.join(format!("framepipe-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// One case, checked: Err says what went wrong, with the seed to replay it.
fn run_case(seed: u64, corpus: &[(String, Vec<u8>)], dir: &Path) -> Result<(), String> {
    let (data, what) = make_case(seed, corpus);
    let bound = memory_bound(data.len());
    let (result, peak, refused) = measured(seed, bound, || run_readers(&data, dir));
    let fail = |msg: String| {
        let kept = dir.with_file_name(format!("framepipe-fuzz-case-{seed:#x}.bin"));
        let _ = std::fs::write(&kept, &data);
        Err(format!(
            "fuzz case {seed:#x} ({what}; {} bytes, kept in {}): {msg}\nreplay it with FRAMEPIPE_FUZZ_REPLAY={seed:#x}",
            data.len(),
            kept.display()
        ))
    };
    if refused > 0 {
        return fail(format!("asked for {refused} bytes at once (refused), far more than its bound of {bound}"));
    }
    result.or_else(fail)?;
    let over = peak.saturating_sub(data.len() * MEMORY_PER_INPUT_BYTE);
    MOST_OVER.fetch_max(over as u64, Ordering::Relaxed);
    if peak > bound {
        return fail(format!("held {peak} bytes at once, more than its bound of {bound}"));
    }
    Ok(())
}

#[test]
fn fuzz_the_readers() {
    let corpus = Arc::new(corpus());
    let base = env_u64("FRAMEPIPE_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let verbose = std::env::var_os("FRAMEPIPE_FUZZ_VERBOSE").is_some();
    if let Some(seed) = env_u64("FRAMEPIPE_FUZZ_REPLAY") {
        let dir = scratch();
        let (data, what) = make_case(seed, &corpus);
        let path = dir.with_file_name(format!("framepipe-fuzz-case-{seed:#x}.bin"));
        std::fs::write(&path, &data).unwrap();
        eprintln!("fuzz: replaying case {seed:#x} ({what}), input in {}", path.display());
        let r = run_case(seed, &corpus, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        r.unwrap();
        return;
    }
    let seconds = env_u64("FRAMEPIPE_FUZZ_SECONDS");
    let cases = env_u64("FRAMEPIPE_FUZZ_CASES").unwrap_or(if seconds.is_some() { u64::MAX } else { DEFAULT_CASES });
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));

    // The cases run on a worker thread; this one watches for a hang.
    let done = Arc::new(AtomicU64::new(0));
    let current = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let worker = {
        let (corpus, done, current, finished) = (corpus.clone(), done.clone(), current.clone(), finished.clone());
        std::thread::spawn(move || -> Result<u64, String> {
            let dir = scratch();
            let started = Instant::now();
            let mut result = Ok(0);
            for index in 0..cases {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let seed = case_seed(base, index);
                current.store(seed, Ordering::SeqCst);
                if verbose {
                    stderr_raw(format!("fuzz: case {index} seed {seed:#x}\n").as_bytes());
                }
                if let Err(e) = run_case(seed, &corpus, &dir) {
                    result = Err(e);
                    break;
                }
                done.store(index + 1, Ordering::SeqCst);
            }
            let _ = std::fs::remove_dir_all(&dir);
            finished.store(true, Ordering::SeqCst);
            let n = done.load(Ordering::SeqCst);
            let counts: Vec<String> =
                READERS.iter().zip(&ACCEPTED).map(|(r, c)| format!("{r} {}", c.load(Ordering::Relaxed))).collect();
            eprintln!(
                "fuzz: {n} cases from base seed {base:#x} in {:.1} s; inputs accepted by {}; the most a case held \
                 beyond {MEMORY_PER_INPUT_BYTE} bytes per input byte: {} bytes",
                started.elapsed().as_secs_f64(),
                counts.join(", "),
                MOST_OVER.load(Ordering::Relaxed)
            );
            result.map(|_| n)
        })
    };
    let (mut last_done, mut since) = (0, Instant::now());
    while !finished.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
        let d = done.load(Ordering::SeqCst);
        if d != last_done {
            (last_done, since) = (d, Instant::now());
        } else if since.elapsed() > CASE_TIMEOUT {
            let seed = current.load(Ordering::SeqCst);
            panic!(
                "fuzz case {seed:#x} (case {d} from base seed {base:#x}) has run for more than {CASE_TIMEOUT:?}: a \
                 hang; replay it with FRAMEPIPE_FUZZ_REPLAY={seed:#x}"
            );
        }
    }
    let n = worker.join().expect("the fuzz worker panicked outside a case").unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 0, "no fuzz case ran");
    // Each reader got past the first bytes of a fair share of the cases: mutations that keep a
    // file mostly intact reach deep into the readers.
    for (reader, count) in READERS.iter().zip(&ACCEPTED) {
        let count = count.load(Ordering::Relaxed);
        assert!(n < 200 || count * 50 > n, "{reader} accepted only {count} of {n} inputs: the cases test little");
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus, made again
// ---------------------------------------------------------------------------------------------

/// Write the corpus files again (needs ffmpeg): `cargo test --release -p framepipe --test fuzz
/// -- --ignored regenerate_corpus`. framepipe's files come from this checkout's writer and the
/// system's x264, ffmpeg's from the ffmpeg on the PATH: the bytes differ from machine to
/// machine, which is why the corpus is committed rather than made at test time.
#[test]
#[ignore]
fn regenerate_corpus() {
    use framepipe::testing::Mp4Writer;
    use framepipe::{EncodeOptions, Frame, OutputFormat, PixelFormat, Preset, Rational, VideoWriter};
    use std::process::Command;

    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h, n) = (48u32, 32u32, 24u32);
    let frame = |i: u32| -> Vec<u8> {
        (0..w * h * 3).map(|k| ((k % (w * 3)) * 5 + (k / (w * 3)) * 3 + i * 11) as u8).collect()
    };
    let encode = |opts: EncodeOptions, n: u32| -> Vec<u8> {
        let mut v = VideoWriter::in_memory(opts).unwrap();
        for i in 0..n {
            v.write(&Frame::packed(&frame(i), w, h, PixelFormat::Rgb24).unwrap()).unwrap();
        }
        v.finish_to_vec().unwrap().1
    };
    let opts = EncodeOptions {
        preset: Preset::Medium,
        threads: Some(1),
        fps: Rational::new(24, 1).unwrap(),
        keyint: Some(8),
        ..Default::default()
    };
    let done = encode(opts.clone(), n);
    std::fs::write(dir.join("fp-faststart.mp4"), &done).unwrap();
    // The same packets from a writer that never finished: what a killed writer leaves.
    let mut d = Mp4Demuxer::new(Cursor::new(&done)).unwrap();
    let mut wr = Mp4Writer::new(Cursor::new(Vec::new()), d.track().clone()).unwrap();
    wr.set_fragment_frames(8).unwrap();
    while let Some(p) = d.read_packet().unwrap() {
        wr.write_packet(&p).unwrap();
    }
    wr.write_fragment().unwrap();
    std::fs::write(dir.join("fp-fragmented.mp4"), wr.into_inner().into_inner()).unwrap();
    let gif = encode(EncodeOptions { format: Some(OutputFormat::Gif), ..opts }, 5);
    std::fs::write(dir.join("fp.gif"), gif).unwrap();

    let ffmpeg = |name: &str, args: &[&str]| {
        let out = dir.join(name);
        let status = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=48x32:rate=24:duration=1"])
            .args(args)
            .arg(&out)
            .status()
            .expect("running ffmpeg");
        assert!(status.success(), "ffmpeg {args:?}");
    };
    let x264 = ["-c:v", "libx264", "-preset", "medium", "-g", "8", "-pix_fmt", "yuv420p"];
    ffmpeg("ff-fragmented.mp4", &[&x264[..], &["-movflags", "frag_keyframe+empty_moov"]].concat());
    ffmpeg(
        "ff-frag-every-frame.mp4",
        &[&x264[..], &["-movflags", "frag_every_frame+empty_moov+default_base_moof"]].concat(),
    );
    ffmpeg("ff-moov-at-end.mp4", &x264);
    // Audio first, then video (the reader must find the video track), faststart, tagged.
    let out = dir.join("ff-faststart-audio.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=48x32:rate=24:duration=1"])
        .args(["-map", "0:a", "-map", "1:v", "-c:a", "aac", "-b:a", "32k"])
        .args(x264)
        .args(["-movflags", "+faststart", "-metadata", "title=fuzz"])
        .arg(&out)
        .status()
        .expect("running ffmpeg");
    assert!(status.success());
    ffmpeg("ff.gif", &["-vf", "fps=12"]);
    write_sound_corpus(&dir);
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        eprintln!("{}: {} bytes", p.display(), std::fs::metadata(&p).unwrap().len());
    }
}

/// Only the corpus files with sound (issue 23): `cargo test --release -p framepipe --test fuzz
/// -- --ignored regenerate_sound_corpus`.
#[test]
#[ignore]
fn regenerate_sound_corpus() {
    write_sound_corpus(&corpus_dir());
}

/// framepipe's MP4s with an AAC track (mono, 8 kHz, 16 kbit/s: small files): a finished one
/// (faststart, interleaved chunks, edit list), and a fragmented one with two tracks per
/// fragment and sound ahead of the picture, as a killed writer leaves it (a copy of the file
/// while the writer is still open, taken once its first two fragments are on disk).
fn write_sound_corpus(dir: &std::path::Path) {
    use framepipe::{AudioInput, EncodeOptions, Fragments, Frame, PixelFormat, Preset, Rational, VideoWriter};
    let (w, h, n, rate) = (48u32, 32u32, 36u32, 8000u32);
    let frame = |i: u32| -> Vec<u8> {
        (0..w * h * 3).map(|k| ((k % (w * 3)) * 7 + (k / (w * 3)) * 2 + i * 13) as u8).collect()
    };
    let opts = EncodeOptions {
        preset: Preset::Medium,
        threads: Some(1),
        fps: Rational::new(24, 1).unwrap(),
        keyint: Some(8),
        fragments: Fragments { seconds: 0.25, ..Default::default() },
        audio: Some(AudioInput { sample_rate: rate, channels: 1 }),
        audio_bitrate: Some(16),
        ..Default::default()
    };
    let scratch = std::env::temp_dir().join(format!("framepipe-fuzz-sound-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let path = scratch.join("sound.mp4");
    let mut v = VideoWriter::create(&path, opts).unwrap();
    let per_frame = (rate / 24) as usize;
    let tone: Vec<f32> = (0..per_frame * n as usize * 2).map(|k| (k as f32 * 0.35).sin() * 0.4).collect();
    // Half a second of sound ahead of the first frame, then a frame's worth with each frame.
    v.write_audio(&tone[..rate as usize / 2]).unwrap();
    let mut at = rate as usize / 2;
    let on_disk = v.on_disk_counter();
    let mut copied = false;
    for i in 0..n {
        v.write(&Frame::packed(&frame(i), w, h, PixelFormat::Rgb24).unwrap()).unwrap();
        v.write_audio(&tone[at..at + per_frame]).unwrap();
        at += per_frame;
        if i == 24 {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while on_disk.load(std::sync::atomic::Ordering::SeqCst) < 12 {
                assert!(std::time::Instant::now() < deadline, "the writer put no fragment on disk");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            std::fs::write(dir.join("fp-sound-fragmented.mp4"), std::fs::read(&path).unwrap()).unwrap();
            copied = true;
        }
    }
    assert!(copied);
    v.finish().unwrap();
    std::fs::write(dir.join("fp-sound-faststart.mp4"), std::fs::read(&path).unwrap()).unwrap();
    std::fs::remove_dir_all(&scratch).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Regression tests: the crafted files of issue 21, and every defect the fuzzer found
// ---------------------------------------------------------------------------------------------

/// A box: 32-bit size, type, body.
fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// framepipe's unfinished file up to the end of its moov (ftyp, moov), then one moof of track
/// 1 whose traf has `truns` truns of `count` samples of `default_size` bytes each (no
/// per-sample entries; each trun's data starts where the mdat's body does), then an mdat of
/// `mdat_len` zero bytes.
fn crafted_truns(truns: usize, count: u32, default_size: u32, mdat_len: usize) -> Vec<u8> {
    let fp = std::fs::read(corpus_dir().join("fp-fragmented.mp4")).unwrap();
    let moov = spans(&fp).into_iter().find(|s| &s.kind == b"moov").unwrap();
    let mut out = fp[..moov.pos + moov.size].to_vec();
    // tfhd: default-base-is-moof | default-sample-size; track 1; the size.
    let mut tfhd = 0x0002_0010u32.to_be_bytes().to_vec();
    tfhd.extend_from_slice(&1u32.to_be_bytes());
    tfhd.extend_from_slice(&default_size.to_be_bytes());
    let mfhd = mp4_box(b"mfhd", &[0, 0, 0, 0, 0, 0, 0, 1]);
    let traf_len = 8 + (8 + tfhd.len()) + truns * 20;
    let moof_len = 8 + mfhd.len() + traf_len;
    let mut trun = 0x0000_0001u32.to_be_bytes().to_vec(); // data offset present
    trun.extend_from_slice(&count.to_be_bytes());
    trun.extend_from_slice(&((moof_len + 8) as u32).to_be_bytes());
    let mut traf = mp4_box(b"tfhd", &tfhd);
    for _ in 0..truns {
        traf.extend(mp4_box(b"trun", &trun));
    }
    let mut moof = mfhd;
    moof.extend(mp4_box(b"traf", &traf));
    let moof = mp4_box(b"moof", &moof);
    assert_eq!(moof.len(), moof_len);
    out.extend(moof);
    out.extend(mp4_box(b"mdat", &vec![0u8; mdat_len]));
    out
}

/// Probe (by bytes and by path) and repair `data` in `dir`, each under the memory bound of a
/// fuzz case: (probe's result as text, repair's), and the most either held at once.
fn probe_and_repair(
    data: &[u8],
    dir: &Path,
) -> (Result<framepipe::testing::Mp4Info, String>, Result<u64, String>, usize) {
    let input = dir.join("crafted.mp4");
    std::fs::write(&input, data).unwrap();
    let bound = memory_bound(data.len());
    let ((probed, repaired), peak, refused) = measured(0, bound, || {
        let probed = probe_reader(Cursor::new(data)).map_err(|e| e.to_string());
        let by_path = probe(&input).map_err(|e| e.to_string());
        assert_eq!(probed.is_ok(), by_path.is_ok());
        let repaired = repair(&input, Some(&dir.join("repaired.mp4"))).map(|r| r.frames).map_err(|e| e.to_string());
        (probed, repaired)
    });
    assert_eq!(refused, 0, "an allocation of {refused} bytes was refused");
    (probed, repaired, peak)
}

fn scratch_for(test: &str) -> PathBuf {
    let dir = scratch().join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn issue21_zero_size_samples_are_refused_before_anything_is_allocated_for_them() {
    // The issue's file: 8 truns of 2,000,000 samples of 0 bytes in 2 MB. probe took 1.25 GB
    // and reported 16,000,000 frames; repair took the same before failing.
    let dir = scratch_for("zero");
    let data = crafted_truns(8, 2_000_000, 0, 2_000_000);
    assert!(data.len() > 2_000_000 && data.len() < 2_010_000);
    let (probed, repaired, peak) = probe_and_repair(&data, &dir);
    let e = probed.unwrap_err();
    assert!(
        e.contains("malformed MP4: the trun in the moof at byte") && e.contains("lists 2000000 samples of 0 bytes"),
        "{e}"
    );
    let e = repaired.unwrap_err();
    assert!(e.contains("lists 2000000 samples of 0 bytes"), "{e}");
    // Two reads of the file's boxes (a moof of 200 bytes), nothing per sample.
    assert!(peak < 1 << 20, "held {peak} bytes");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn issue21_samples_that_would_hold_more_bytes_than_the_file_are_refused() {
    // 8 truns of 2,000,000 one-byte samples, all over the same 2 MB: 16 MB of frames in 2 MB.
    let dir = scratch_for("overlap");
    let data = crafted_truns(8, 2_000_000, 1, 2_000_000);
    let (probed, repaired, peak) = probe_and_repair(&data, &dir);
    let e = probed.unwrap_err();
    assert!(e.contains("samples hold") && e.contains("more than the file's") && e.contains("(samples overlap)"), "{e}");
    let e = repaired.unwrap_err();
    assert!(e.contains("1 bytes long: too short for an H.264 frame"), "{e}");
    assert!(peak < 1 << 20, "held {peak} bytes");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn issue21_millions_of_tiny_frames_are_counted_not_kept() {
    // One trun of 2,000,000 one-byte samples over a 2 MB mdat: a file that does hold them.
    // probe counts them in constant memory; repair refuses frames too short for H.264 before
    // it makes a list of them.
    let dir = scratch_for("tiny");
    let data = crafted_truns(1, 2_000_000, 1, 2_000_000);
    let (probed, repaired, peak) = probe_and_repair(&data, &dir);
    let info = probed.unwrap();
    assert_eq!((info.frame_count, info.frames_present, info.truncated()), (2_000_000, 2_000_000, false));
    let e = repaired.unwrap_err();
    assert!(e.contains("frame 0 of the fragments") && e.contains("1 bytes long: too short for an H.264 frame"), "{e}");
    assert!(peak < 1 << 20, "held {peak} bytes");
    // Ten million frames of 1000 bytes listed beyond the end of the file: counted at once.
    let data = crafted_truns(1, 10_000_000, 1000, 100);
    let (probed, repaired, peak) = probe_and_repair(&data, &dir);
    let info = probed.unwrap();
    assert_eq!((info.frame_count, info.frames_present, info.missing_bytes), (10_000_000, 0, 10_000_000_000));
    assert!(info.truncated());
    assert_eq!(repaired, Ok(0), "repair keeps the frames the file holds: none");
    assert!(peak < 1 << 20, "held {peak} bytes");
    // More than 2^24 frames listed: refused, however few bytes each.
    let data = crafted_truns(2, 10_000_000, 1000, 100);
    let e = probe_and_repair(&data, &dir).0.unwrap_err();
    assert!(e.contains("fragments that list more than 16777216 frames"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fuzz_found_a_finished_index_with_a_frame_past_the_end_before_frames_within() {
    // Case 0x4fe8cac5ef44608f, found once repair learnt to rebuild finished files cut short: a
    // mutated finished file whose table lists a frame of 67 MB beyond the end of the file before
    // frames within it. repair took the count of frames that fit anywhere for a decode-order
    // prefix and allocated that frame's bytes before reading them (aborting here); it now keeps
    // the frames up to the first that is not in the file, counted before allocating.
    let corpus = corpus();
    let dir = scratch_for("past-the-end");
    run_case(0x4fe8_cac5_ef44_608f, &corpus, &dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
