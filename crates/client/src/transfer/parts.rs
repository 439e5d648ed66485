//! Unfinished downloads never outlive their client. A `.part` file is
//! named with the client's process id and registered while it is open; a
//! client told to stop (SIGTERM, SIGHUP, SIGINT) removes every one it has
//! ([`remove_all`], from `main.rs`), and a client starting removes those
//! left by a client that no longer runs ([`clean_stale`]), e.g. after a
//! SIGKILL or a power cut.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// The `.part` files this process has open.
static OPEN: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A `.part` file of the old form (no process id) is stale after this.
const OLD_FORM_STALE_AFTER: Duration = Duration::from_secs(3600);

fn open_parts() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    OPEN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a download of `name` (already sanitised) with transfer id prefix
/// `id` is written until it is complete: hidden, and marked with this
/// process's id.
pub(crate) fn part_path(downloads: &Path, name: &str, id: &str) -> PathBuf {
    downloads.join(format!(".{name}.{id}.{}.part", std::process::id()))
}

/// `path` is being written.
pub(crate) fn opened(path: &Path) {
    open_parts().push(path.to_owned());
}

/// `path` was renamed to its final name or removed.
pub(crate) fn closed(path: &Path) {
    open_parts().retain(|open| open != path);
}

/// Removes `path` (an unfinished download given up).
pub(crate) fn discard(path: &Path) {
    let _ = std::fs::remove_file(path);
    closed(path);
}

/// Removes every `.part` file this process has open; returns how many.
pub fn remove_all() -> usize {
    let parts = std::mem::take(&mut *open_parts());
    parts
        .iter()
        .filter(|path| std::fs::remove_file(path).is_ok())
        .count()
}

/// The process id in a `.part` file's name, if it has one.
fn owner(name: &str) -> Option<Option<u32>> {
    let stem = name.strip_prefix('.')?.strip_suffix(".part")?;
    let mut fields = stem.rsplit('.');
    let last = fields.next()?;
    Some(
        last.parse()
            .ok()
            .filter(|_| fields.next().is_some_and(|id| id.len() == 8)),
    )
}

fn is_running(pid: u32) -> bool {
    Path::new("/proc").exists() && Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes the `.part` files in `downloads` that no running client is
/// writing: those naming a process that is gone, and old-form ones not
/// touched for an hour. Returns how many.
pub fn clean_stale(downloads: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(downloads) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = match owner(&name) {
            None => false,
            Some(Some(pid)) => pid != std::process::id() && !is_running(pid),
            Some(None) => entry
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|at| at.elapsed().ok())
                .is_some_and(|age| age > OLD_FORM_STALE_AFTER),
        };
        if stale && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_gone_processes_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join(".notes.txt.abcdef12.4000000.part");
        let mine = part_path(dir.path(), "live.bin", "12345678");
        let unrelated = dir.path().join(".config.part-of-something");
        let fresh_old_form = dir.path().join(".x.bin.abcdef12.part");
        for path in [&gone, &mine, &unrelated, &fresh_old_form] {
            std::fs::write(path, b"x").unwrap();
        }
        assert_eq!(clean_stale(dir.path()), 1);
        assert!(!gone.exists());
        assert!(mine.exists() && unrelated.exists() && fresh_old_form.exists());
    }

    #[test]
    fn remove_all_removes_what_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let part = part_path(dir.path(), "a.bin", "00000000");
        std::fs::write(&part, b"x").unwrap();
        opened(&part);
        assert!(remove_all() >= 1);
        assert!(!part.exists());
    }
}
