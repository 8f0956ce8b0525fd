//! Repair of finished files cut short, and repair onto the input under other names.

use super::*;
use crate::mux::mp4::index::SampleIndex;
use crate::mux::mp4::writer::tests::{bframe_stamps, check_finished, reference_file, sweep_packets};
use crate::rational::Rational;

/// A fresh folder for one test, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("framepipe-repair-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn join(&self, n: &str) -> PathBuf {
        self.0.join(n)
    }
    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".fp-tmp"))
            .collect()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_finished_file_cut_at_any_byte_repairs_to_the_frames_it_holds() {
    // Cut a finished file (B-frames) all over its media data: repair keeps
    // the samples wholly in the file, up to the last that leaves no gap in presentation, and
    // makes exactly the file a clean close of those packets makes; it says so.
    let d = Dir::new("cut");
    let fps = Rational::new(30, 1).unwrap();
    let packets = sweep_packets(&bframe_stamps(5));
    let n = packets.len();
    let finished = reference_file(fps, &packets);
    let payload = packets.iter().map(|p| p.data.len() as u64).sum::<u64>();
    let start = finished.len() - payload as usize;
    let mut all = SampleIndex::new(30, 1);
    packets.iter().for_each(|p| all.push(p));
    let prefixes = all.contiguous_prefixes();
    let (input, out) = (d.join("cut.mp4"), d.join("fixed.mp4"));
    let mut kept_counts = std::collections::BTreeSet::new();
    // Every sample's end and the bytes either side of it, and every 101st byte between.
    let mut cuts: std::collections::BTreeSet<usize> = (start..finished.len()).step_by(101).collect();
    let mut end = start;
    for p in &packets {
        end += p.data.len();
        cuts.extend([end - 1, end, end + 1].into_iter().filter(|&c| c < finished.len()));
    }
    for cut in cuts {
        std::fs::write(&input, &finished[..cut]).unwrap();
        // Samples wholly before the cut, and the longest gap-free prefix of them.
        let mut end = start;
        let found = packets.iter().take_while(|p| {
            end += p.data.len();
            end <= cut
        });
        let found = found.count();
        let kept = prefixes.iter().copied().filter(|&k| k <= found).max().unwrap_or(0);
        match repair(&input, Some(&out)) {
            Ok(r) => {
                // (No frame whole: a valid file of no frames, as for an unfinished file.)
                assert_eq!(
                    (r.frames, r.frames_found, r.frames_listed, r.truncated, r.was_finished, r.in_place),
                    (kept as u64, found as u64, n as u64, true, false, false),
                    "cut {cut}"
                );
                let file = std::fs::read(&out).unwrap();
                assert!(file == reference_file(fps, &packets[..kept]), "cut {cut}");
                check_finished(&file, kept as u64, &packets, (30, 1));
                kept_counts.insert(kept);
            }
            Err(e) => panic!("cut {cut}: {e}"),
        }
        assert!(std::fs::read(&input).unwrap() == finished[..cut], "the input is left alone");
    }
    let mut want = vec![0];
    want.extend(&prefixes[..prefixes.len() - 1]);
    assert_eq!(kept_counts.into_iter().collect::<Vec<_>>(), want);
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
    // Uncut: nothing to repair, in place or by another name of the same file.
    std::fs::write(&input, &finished).unwrap();
    std::os::unix::fs::symlink(&input, d.join("link.mp4")).unwrap();
    std::fs::hard_link(&input, d.join("hard.mp4")).unwrap();
    let dotted = d.0.join(".").join("cut.mp4");
    for output in [None, Some(dotted.as_path()), Some(&d.join("link.mp4")), Some(&d.join("hard.mp4"))] {
        let r = repair(&input, output).unwrap();
        assert!(r.was_finished && r.in_place && !r.truncated && r.frames == n as u64, "{output:?}: {r:?}");
        assert!(std::fs::read(&input).unwrap() == finished, "{output:?}");
    }
    assert!(d.leftovers().is_empty());
}

#[test]
fn repair_removes_what_killed_repairs_left() {
    // A killed repair of this version leaves a `.NAME.ID.fp-tmp` (its lock is free once the
    // process is gone); one of an older version, `.NAME.repair-PID`. The next repair to that
    // output removes both, but not the file of a repair whose process still runs.
    let d = Dir::new("leftovers");
    let fps = Rational::new(30, 1).unwrap();
    let packets = sweep_packets(&bframe_stamps(2));
    let input = d.join("in.mp4");
    std::fs::write(&input, reference_file(fps, &packets)).unwrap();
    let out = d.join("out.mp4");
    let live = format!(".out.mp4.repair-{}", std::process::id());
    for name in [".out.mp4.1-2-3.fp-tmp", ".out.mp4.repair-999999999", live.as_str(), ".other.mp4.repair-999999999"] {
        std::fs::write(d.join(name), b"half a file").unwrap();
    }
    let r = repair(&input, Some(&out)).unwrap();
    assert!(r.was_finished && !r.in_place);
    let mut left: Vec<String> =
        std::fs::read_dir(&d.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    let mut want = vec![".other.mp4.repair-999999999".to_string(), live, "in.mp4".into(), "out.mp4".into()];
    want.sort();
    assert_eq!(left, want);
}
