//! Finishing beside the output: the finished file is written as a new file and renamed over
//! the fragmented one, which nothing touches before that (so a kill during finish keeps it).

use super::super::tests::{
    bframe_stamps, check_finished, packet, reference_file, sweep_packets, test_track, top_level, write_fragmented,
};
use super::*;
use crate::encode::Packet;
use crate::rational::Rational;
use std::cell::{Cell, RefCell};
use std::io::{Cursor, Read};
use std::rc::Rc;

/// A small simulated disk: every file's bytes count against `room`.
#[derive(Default)]
struct DiskState {
    room: u64,
    used: u64,
    /// What happened, in order: "sync N", "new N", "rename N" (N: the file's number).
    log: Vec<String>,
    files: u32,
    /// Making a new file fails (too many open files, a read-only folder...).
    refuse_new: bool,
}

/// A file on the [`DiskState`]: the output (number 0) or a replacement. While a replacement of
/// a file exists, writing to that file (the fragmented one) panics: finish must not touch it.
struct DiskFile {
    disk: Rc<RefCell<DiskState>>,
    n: u32,
    data: Cursor<Vec<u8>>,
    frozen: Rc<Cell<bool>>,
    /// A replacement's: the flag of the file it replaces, cleared when it goes.
    thaws: Option<Rc<Cell<bool>>>,
}

fn disk(room: u64) -> DiskFile {
    let disk = Rc::new(RefCell::new(DiskState { room, ..Default::default() }));
    DiskFile { disk, n: 0, data: Cursor::new(Vec::new()), frozen: Rc::default(), thaws: None }
}

impl DiskFile {
    /// Take room for growing to `len` bytes: how many of them fit.
    fn grow_to(&mut self, len: u64) -> u64 {
        let have = self.data.get_ref().len() as u64;
        if len <= have {
            return len;
        }
        let mut d = self.disk.borrow_mut();
        let free = d.room - d.used;
        let grow = (len - have).min(free);
        d.used += grow;
        have + grow
    }
}

fn full() -> std::io::Error {
    std::io::Error::from_raw_os_error(28)
}

impl Read for DiskFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.data.read(buf)
    }
}
impl Seek for DiskFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.data.seek(pos)
    }
}
impl Write for DiskFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        assert!(!self.frozen.get(), "file {} written while its replacement is being made", self.n);
        let pos = self.data.position();
        let end = self.grow_to(pos + buf.len() as u64);
        if end <= pos {
            return Err(full());
        }
        self.data.write(&buf[..(end - pos) as usize])
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Mp4Sink for DiskFile {
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        assert!(!self.frozen.get(), "file {} cut while its replacement is being made", self.n);
        let have = self.data.get_ref().len() as u64;
        let got = self.grow_to(len);
        if got < len {
            self.disk.borrow_mut().used -= got - have; // give back what was taken
            return Err(full());
        }
        if len < have {
            self.disk.borrow_mut().used -= have - len;
        }
        self.data.get_mut().resize(len as usize, 0);
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.disk.borrow_mut().log.push(format!("sync {}", self.n));
        Ok(())
    }
    fn replacement(&mut self) -> std::io::Result<Option<Self>> {
        let mut d = self.disk.borrow_mut();
        if d.refuse_new {
            return Err(std::io::Error::from_raw_os_error(24)); // EMFILE
        }
        d.files += 1;
        let n = d.files;
        d.log.push(format!("new {n}"));
        drop(d);
        self.frozen.set(true);
        let thaws = Some(self.frozen.clone());
        Ok(Some(DiskFile { disk: self.disk.clone(), n, data: Cursor::new(Vec::new()), frozen: Rc::default(), thaws }))
    }
    fn replace_with(&mut self, new: Self, _durable: bool) -> std::io::Result<()> {
        self.disk.borrow_mut().log.push(format!("rename {}", new.n));
        *self = new; // the old file is dropped: its room comes back
        Ok(())
    }
}

impl Drop for DiskFile {
    fn drop(&mut self) {
        let len = self.data.get_ref().len() as u64;
        self.disk.borrow_mut().used -= len;
        if let Some(t) = &self.thaws {
            t.set(false);
        }
    }
}

fn fps30() -> Rational {
    Rational::new(30, 1).unwrap()
}

/// Write `packets` into a writer on `out` in fragments of `frag` frames (stopping at the first
/// failed write, as the pipeline does).
fn write_all(out: DiskFile, packets: &[Packet], frag: u32, durable: bool) -> (Mp4Writer<DiskFile>, bool) {
    let mut w = Mp4Writer::new(out, test_track(fps30())).unwrap();
    w.set_fragment_frames(frag).unwrap();
    w.set_durable(durable);
    for p in packets {
        if w.write_packet(p).is_err() {
            w.mark_interrupted();
            return (w, true);
        }
    }
    (w, false)
}

#[test]
fn finishing_beside_gives_the_same_bytes_and_never_touches_the_fragments() {
    // DiskFile panics if the fragmented file is written or cut while its replacement is
    // made; the finished file is byte for byte the one finishing in place makes.
    let mut jump: Vec<Packet> =
        (0..40).map(|i| packet(i + i / 17, i + i / 17, i % 10 == 0, 300 + i as usize)).collect();
    jump[0].keyframe = true;
    let big: Vec<Packet> = (0..10).map(|i| packet(i, i, i % 5 == 0, 1_000_003)).collect();
    for packets in [sweep_packets(&bframe_stamps(12)), jump, big] {
        let want = reference_file(fps30(), &packets);
        for frag in [1, 2, 3, 7, 30, 1000] {
            for durable in [false, true] {
                let (mut w, failed) = write_all(disk(u64::MAX / 2), &packets, frag, durable);
                assert!(!failed);
                let on_disk = w.frames_on_disk();
                w.finish().unwrap();
                assert!(w.is_faststart());
                assert_eq!(w.frames(), packets.len() as u64);
                assert_eq!(w.bytes_written(), want.len() as u64);
                let out = w.into_inner();
                let log = out.disk.borrow().log.clone();
                assert_eq!(out.n, 1, "fragments of {frag}: the output is the new file");
                assert!(out.data.get_ref() == &want, "fragments of {frag}, {} frames on disk", on_disk);
                // The old file's room came back: only the finished file is on the disk.
                assert_eq!(out.disk.borrow().used, want.len() as u64);
                // Durable: the new file is synced before it is renamed into place.
                let tail: Vec<&str> = log.iter().map(String::as_str).skip_while(|l| *l != "new 1").collect();
                let expect: &[&str] = if durable { &["new 1", "sync 1", "rename 1"] } else { &["new 1", "rename 1"] };
                assert_eq!(tail, expect, "fragments of {frag}: {log:?}");
            }
        }
    }
}

#[test]
fn no_room_for_the_finished_file_leaves_the_fragmented_one() {
    // Room for the fragmented file and part of the finished one: finish fails with the disk
    // full, the half-written new file is gone, and the output is the fragmented file with
    // every frame that was on disk, plus the fragment that was in memory when it fits. Every
    // room from "the fragments alone" to "one byte short of both files" is tried.
    let packets = sweep_packets(&bframe_stamps(6));
    let want = reference_file(fps30(), &packets);
    let fragmented = {
        let mut w = write_fragmented(fps30(), &packets, 5);
        w.write_fragment().unwrap();
        w.into_inner().into_inner()
    };
    let partial = write_fragmented(fps30(), &packets, 5);
    let before_close = partial.frames_on_disk();
    let partial_len = partial.into_inner().into_inner().len() as u64;
    assert!(before_close > 0 && before_close < packets.len() as u64, "{before_close}");
    let (mut whole, mut some) = (0, 0);
    for room in partial_len..partial_len + want.len() as u64 {
        let (mut w, failed) = write_all(disk(room), &packets, 5, false);
        assert!(!failed, "room {room}");
        let e = w.finish().unwrap_err();
        assert!(e.is_disk_full(), "room {room}: {e}");
        let msg = e.to_string();
        let frames = w.frames();
        assert!(msg.contains(&format!("with its {frames} frames")) && msg.contains("framepipe repair"), "{msg}");
        assert!(frames >= before_close, "room {room}: {frames} < {before_close}");
        assert_eq!(frames, w.frames_on_disk());
        assert!(!w.is_faststart());
        assert!(w.finish().is_err() && w.write_packet(&packets[0]).is_err());
        assert_eq!(w.frames(), frames, "a second finish changes nothing");
        let out = w.into_inner();
        assert_eq!(out.n, 0, "room {room}: the output is still the fragmented file");
        let file = out.data.get_ref().clone();
        assert_eq!(out.disk.borrow().used, file.len() as u64, "room {room}: the new file's room came back");
        if frames == packets.len() as u64 {
            whole += 1;
            assert!(file == fragmented, "room {room}");
            assert!(msg.contains("once there is room") && !msg.contains("lost"), "{msg}");
        } else {
            some += 1;
            assert_eq!(frames, before_close, "room {room}");
            assert_eq!(file.len() as u64, partial_len, "room {room}");
            assert!(file[..] == fragmented[..file.len()], "room {room}");
            assert!(msg.contains(&format!("the last {} frames", packets.len() as u64 - frames)), "{msg}");
        }
        // The file left is an unfinished MP4 of those frames; repair gives the clean file.
        let info = crate::mux::mp4::probe_reader(Cursor::new(&file)).unwrap();
        assert!(info.fragmented && info.frame_count == frames && info.frames_present == frames, "room {room}");
        let _ = top_level(&file);
    }
    assert!(whole > 0 && some > 0, "{whole} {some}");
    // Once there is room, repair finishes it into the file a clean close makes.
    let dir = std::env::temp_dir().join(format!("framepipe-beside-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("left.mp4");
    std::fs::write(&input, &fragmented).unwrap();
    let r = crate::mux::mp4::repair(&input, None).unwrap();
    assert_eq!(r.frames, packets.len() as u64);
    assert!(std::fs::read(&input).unwrap() == want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_file_that_cannot_be_made_leaves_the_fragmented_one() {
    // Making the new file fails outright (too many open files, say): the same fallback, and
    // a short stream that never had a fragment on disk gets one now.
    let packets: Vec<Packet> = (0..8).map(|i| packet(i, i, i == 0, 200)).collect();
    let (mut w, _) = write_all(disk(u64::MAX / 2), &packets, 30, false);
    assert_eq!(w.frames_on_disk(), 0);
    w.get_mut().disk.borrow_mut().refuse_new = true;
    let e = w.finish().unwrap_err();
    assert!(matches!(e, Error::Io { .. }) && !e.is_disk_full(), "{e}");
    assert!(e.to_string().contains("with its 8 frames"), "{e}");
    assert_eq!(w.frames(), 8);
    let file = w.into_inner().data.get_ref().clone();
    let info = crate::mux::mp4::probe_reader(Cursor::new(&file)).unwrap();
    assert!(info.fragmented && info.frame_count == 8);

    // Not even the fragment fits: the output holds no frame, and says so.
    let (mut w, _) = write_all(disk(200), &packets, 30, false);
    w.get_mut().disk.borrow_mut().refuse_new = true;
    let e = w.finish().unwrap_err();
    assert!(e.to_string().contains("not even frame 0 could be written (8 frames encoded)"), "{e}");
    assert_eq!(w.frames(), 0);
}

#[test]
fn an_interrupted_stream_finishes_beside_with_its_contiguous_prefix() {
    // Cut in the middle of a B-frame group: the finished file (made beside) keeps the longest
    // decode-order prefix with contiguous presentation times, as in place.
    let packets = sweep_packets(&bframe_stamps(4));
    let (mut w, _) = write_all(disk(u64::MAX / 2), &packets[..7], 1, false);
    w.mark_interrupted();
    w.finish().unwrap();
    assert_eq!(w.frames(), 5);
    let file = w.into_inner().data.get_ref().clone();
    check_finished(&file, 5, &packets, (30, 1));
}

#[test]
fn a_disk_too_small_for_the_whole_file_keeps_the_prefix_that_fits() {
    // Nothing on disk yet (one fragment would hold every frame) and room for only part of the
    // finished file: the new file then holds the longest gap-free prefix that fits in the
    // bytes it could take, finished (as finishing in place does), instead of no frame at all.
    let packets = sweep_packets(&bframe_stamps(3));
    let finished_len = reference_file(fps30(), &packets).len() as u64;
    let (mut kept_some, mut kept_none) = (0, 0);
    for room in (32..32 + finished_len).step_by(3) {
        let (mut w, failed) = write_all(disk(room), &packets, 1000, false);
        assert!(!failed && w.frames_on_disk() == 0, "room {room}");
        // The longest prefix whose finished file fits beside the 32-byte unfinished output.
        let mut fit = 0;
        for k in 1..=packets.len() {
            let idx = crate::mux::mp4::index::SampleIndex::new(30, 1);
            let mut idx = idx;
            packets[..k].iter().for_each(|p| idx.push(p));
            let gapless = idx.contiguous_prefixes().last() == Some(&k);
            if gapless && reference_file(fps30(), &packets[..k]).len() as u64 <= room - 32 {
                fit = k;
            }
        }
        match w.finish() {
            Ok(()) => {
                kept_some += 1;
                assert_eq!(w.frames(), fit as u64, "room {room}");
                let out = w.into_inner();
                assert_eq!(out.n, 1, "room {room}");
                assert!(out.data.get_ref() == &reference_file(fps30(), &packets[..fit]), "room {room}");
                check_finished(out.data.get_ref(), fit as u64, &packets, (30, 1));
            }
            Err(e) => {
                kept_none += 1;
                assert_eq!(fit, 0, "room {room}: {e}");
                assert!(e.is_disk_full() && e.to_string().contains("not even frame 0"), "{e}");
                assert_eq!(w.frames(), 0);
                assert_eq!(w.into_inner().disk.borrow().used, 32, "room {room}: the new file is gone");
            }
        }
    }
    assert!(kept_some > 100 && kept_none > 10, "{kept_some} {kept_none}");
}
