use super::*;
use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};

/// A fresh folder under the system's temporary folder, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("framepipe-output-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// The names in the folder, sorted.
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temps(d: &Dir) -> Vec<String> {
    d.names().into_iter().filter(|n| n.ends_with(TEMP_SUFFIX)).collect()
}

#[test]
fn same_file_compares_device_and_inode_not_names() {
    let d = Dir::new("same");
    let a = d.join("a.mp4");
    std::fs::write(&a, b"a").unwrap();
    std::fs::write(d.join("b.mp4"), b"a").unwrap();
    symlink(&a, d.join("link.mp4")).unwrap();
    std::fs::hard_link(&a, d.join("hard.mp4")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    let dotted = d.0.join(".").join("sub").join("..").join("a.mp4");
    for other in [dotted, d.join("link.mp4"), d.join("hard.mp4"), a.clone()] {
        assert!(same_file(&a, &other).unwrap(), "{}", other.display());
    }
    assert!(!same_file(&a, &d.join("b.mp4")).unwrap(), "same bytes, another file");
    assert!(!same_file(&a, &d.join("missing.mp4")).unwrap());
    assert!(!same_file(&d.join("missing.mp4"), &d.join("missing.mp4")).unwrap(), "no file is not a file");
}

#[test]
fn a_symlinked_output_means_the_file_it_points_to() {
    let d = Dir::new("resolve");
    let real = d.join("real.mp4");
    std::fs::write(&real, b"x").unwrap();
    symlink(&real, d.join("link.mp4")).unwrap();
    symlink(d.join("nowhere.mp4"), d.join("dangling.mp4")).unwrap();
    assert_eq!(resolve_target(&d.join("link.mp4")), std::fs::canonicalize(&real).unwrap());
    assert_eq!(resolve_target(&real), real);
    assert_eq!(resolve_target(&d.join("dangling.mp4")), d.join("dangling.mp4"));
    assert_eq!(resolve_target(&d.join("new.mp4")), d.join("new.mp4"));
    assert_eq!(folder_of(Path::new("bare.mp4")), Path::new("."));
}

#[test]
fn a_temporary_is_locked_beside_its_target_and_removed_unless_placed() {
    let d = Dir::new("temp");
    let target = d.join("out.mp4");
    let mut t = TempFile::create(&target).unwrap();
    let name = t.path().file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(".out.mp4.") && name.ends_with(".fp-tmp"), "{name}");
    assert_eq!(t.path().parent(), Some(d.0.as_path()));
    t.write_all(b"hello").unwrap();
    // Another open file description cannot take the lock (flock: even in the same process).
    let other = File::open(t.path()).unwrap();
    assert!(matches!(other.try_lock(), Err(std::fs::TryLockError::WouldBlock)));
    drop(other);
    assert!(!target.exists());
    drop(t);
    assert!(d.names().is_empty(), "{:?}", d.names());
}

#[test]
fn placing_replaces_the_name_not_the_old_file() {
    // The old output has a second hard link and read-only permissions: the link keeps the old
    // bytes, the new file gets the old permissions, and nothing else is left in the folder.
    let d = Dir::new("place");
    let target = d.join("out.mp4");
    std::fs::write(&target, b"old video").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::hard_link(&target, d.join("keep.mp4")).unwrap();
    let mut t = TempFile::create(&target).unwrap();
    t.write_all(b"new video").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"old video", "untouched until placed");
    t.place(true).unwrap();
    assert!(t.is_placed() && t.path() == target);
    t.place(false).unwrap(); // once is enough
    t.write_all(b", more").unwrap();
    drop(t);
    assert_eq!(std::fs::read(&target).unwrap(), b"new video, more");
    assert_eq!(std::fs::read(d.join("keep.mp4")).unwrap(), b"old video");
    assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o640);
    assert_eq!(d.names(), ["keep.mp4", "out.mp4"]);
    // A placed file that could not keep anything is removed again, by inode.
    let mut t = TempFile::create(&target).unwrap();
    t.place(false).unwrap();
    t.remove_placed();
    drop(t);
    assert_eq!(d.names(), ["keep.mp4"]);
}

#[test]
fn placing_never_moves_a_folder_or_a_symlink_target_away() {
    // A folder that appeared at the target after the temporary was made: placing (an exchange
    // of the two names underneath) refuses, and the folder and the temporary stay as they were.
    let d = Dir::new("place-dir");
    let target = d.join("out.mp4");
    let mut t = TempFile::create(&target).unwrap();
    t.write_all(b"new video").unwrap();
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("inside.txt"), b"the user's").unwrap();
    let e = t.place(false).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::IsADirectory, "{e}");
    assert!(!t.is_placed());
    assert_eq!(std::fs::read(target.join("inside.txt")).unwrap(), b"the user's");
    assert_eq!(temps(&d).len(), 1);
    drop(t);
    assert_eq!(d.names(), ["out.mp4"]);
    // A symlink at the target name is replaced by the file, as rename does; what it pointed to
    // keeps its bytes.
    let d = Dir::new("place-link");
    std::fs::write(d.join("real.mp4"), b"old video").unwrap();
    let link = d.join("link.mp4");
    symlink(d.join("real.mp4"), &link).unwrap();
    let mut t = TempFile::create(&link).unwrap();
    t.write_all(b"new video").unwrap();
    t.place(true).unwrap();
    drop(t);
    assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(&link).unwrap(), b"new video");
    assert_eq!(std::fs::read(d.join("real.mp4")).unwrap(), b"old video");
    assert_eq!(d.names(), ["link.mp4", "real.mp4"]);
}

#[test]
fn sweep_removes_what_dead_writers_left_and_nothing_else() {
    let d = Dir::new("sweep");
    let target = d.join("out.mp4");
    // The third: what a writer of a dead writer's temporary left (render through the engine).
    let stale = ["..out.mp4.123-0-0.fp-tmp.124-0-0.fp-tmp", ".out.mp4.123-0-0.fp-tmp", ".out.mp4.x.fp-tmp"];
    let kept = [
        "out.mp4",
        ".out.mp4.fp-tmp",           // no id
        ".other.mp4.1-2-3.fp-tmp",   // another output's
        ".out.mp4.1-2-3.fp-tmp.bak", // not the suffix
        ".out.mp4.9.part",
        "..out.mp4.fp-tmp",     // no id
        "..other.mp4.1.fp-tmp", // another output's
    ];
    for n in stale.iter().chain(&kept) {
        std::fs::write(d.join(n), b"x").unwrap();
    }
    symlink(d.join("out.mp4"), d.join(".out.mp4.link.fp-tmp")).unwrap();
    std::fs::create_dir(d.join(".out.mp4.dir.fp-tmp")).unwrap();
    let live = TempFile::create(&target).unwrap();
    let live_name = live.path().file_name().unwrap().to_string_lossy().into_owned();
    let mut removed: Vec<String> =
        sweep(&target).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    removed.sort();
    assert_eq!(removed, stale);
    let mut want: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
    want.extend([live_name.clone(), ".out.mp4.link.fp-tmp".into(), ".out.mp4.dir.fp-tmp".into()]);
    want.sort();
    assert_eq!(d.names(), want);
    assert_eq!(std::fs::read(&target).unwrap(), b"x", "a symlink named like a temporary is not followed");
    drop(live);
    assert!(!d.join(&live_name).exists());
}

/// A child process (Python, with `fcntl.flock` as framepipe's Python code uses it) that creates
/// a temporary of `target`, locks it, says so and waits to be killed.
fn python_lock_holder(temp: &Path) -> std::process::Child {
    let script = "import fcntl, os, sys, time\n\
                  fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)\n\
                  fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n\
                  print('locked', flush=True)\n\
                  time.sleep(600)\n";
    let mut child =
        Command::new("python3").args(["-c", script]).arg(temp).stdout(Stdio::piped()).spawn().expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

#[test]
fn sweep_leaves_a_live_process_temporary_and_takes_it_once_that_process_is_killed() {
    let d = Dir::new("sweep-live");
    let target = d.join("out.mp4");
    let temp = d.join(".out.mp4.py-1.fp-tmp");
    let mut child = python_lock_holder(&temp);
    // A live writer in another process: left alone, however often the sweep runs.
    for _ in 0..3 {
        assert!(sweep(&target).is_empty());
        assert!(temp.exists());
    }
    // SIGKILL: the kernel drops the lock, and the next sweep removes the temporary.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(sweep(&target), [temp]);
    assert!(temps(&d).is_empty());
}

#[test]
fn a_long_name_is_cut_the_same_way_by_writer_and_sweep() {
    let d = Dir::new("long");
    let name = "é".repeat(120) + ".mp4"; // 244 bytes: the temporary's name would be too long
    let target = d.join(&name);
    let live = TempFile::create(&target).unwrap();
    let live_name = live.path().file_name().unwrap().to_os_string();
    assert!(live_name.len() <= 255, "{}", live_name.len());
    let prefix = temp_prefix(&target);
    assert_eq!(prefix.len(), MAX_STEM + 2);
    assert!(live_name.as_bytes().starts_with(prefix.as_bytes()));
    let mut dead = prefix.clone();
    dead.push("dead.fp-tmp");
    std::fs::write(d.0.join(&dead), b"x").unwrap();
    assert_eq!(sweep(&target), [d.0.join(&dead)]);
    assert!(live.path().exists());
}
