//! Turning an offered file name into a safe one inside the downloads
//! directory: no directories, no `..`, no control characters, bounded
//! length, and never an existing file's name.

use std::path::{Path, PathBuf};

/// Longest name kept, in bytes (most file systems allow 255).
const MAX_NAME_BYTES: usize = 200;

/// The last path component of `offered`, cleaned: control and reserved
/// characters become `_`, leading dots and spaces are dropped (no hidden
/// files, no `..`), and the result is cut at a character boundary to fit,
/// keeping the extension. An empty result becomes `download`.
pub fn sanitize_file_name(offered: &str) -> String {
    let last = offered.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_control() || "<>:\"|?*".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches([' ', '.']);
    if cleaned.is_empty() {
        return "download".into();
    }
    if cleaned.len() <= MAX_NAME_BYTES {
        return cleaned.to_owned();
    }
    let (stem, extension) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, Some(ext)),
        _ => (cleaned, None),
    };
    let room = MAX_NAME_BYTES - extension.map_or(0, |e| e.len() + 1);
    let mut cut = room.min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    match extension {
        Some(ext) => format!("{}.{ext}", &stem[..cut]),
        None => stem[..cut].to_owned(),
    }
}

/// `dir/name`, or `dir/name (1).ext`, `dir/name (2).ext`, … — the first that
/// does not exist.
pub fn unique_path(dir: &Path, name: &str) -> PathBuf {
    let candidate = dir.join(name);
    if !candidate.exists() {
        return candidate;
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    (1..)
        .map(|n| dir.join(format!("{stem} ({n}){extension}")))
        .find(|path| !path.exists())
        .unwrap_or(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_plain_file_names() {
        for (offered, safe) in [
            ("../../etc/passwd", "passwd"),
            ("/etc/shadow", "shadow"),
            ("C:\\\\Windows\\\\system.ini", "system.ini"),
            ("..", "download"),
            ("...hidden", "hidden"),
            ("", "download"),
            ("a\u{0}b\u{1b}[2J.txt", "a_b_[2J.txt"),
            ("photo.jpg", "photo.jpg"),
            ("résumé 2026.pdf", "résumé 2026.pdf"),
        ] {
            assert_eq!(sanitize_file_name(offered), safe, "{offered:?}");
        }
        let long = format!("{}.tar.gz", "é".repeat(5000));
        let safe = sanitize_file_name(&long);
        assert!(
            safe.len() <= MAX_NAME_BYTES && safe.ends_with(".gz"),
            "{} bytes",
            safe.len()
        );
    }

    #[test]
    fn names_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unique_path(dir.path(), "a.txt"), dir.path().join("a.txt"));
        std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
        assert_eq!(
            unique_path(dir.path(), "a.txt"),
            dir.path().join("a (1).txt")
        );
        std::fs::write(dir.path().join("a (1).txt"), b"x").unwrap();
        assert_eq!(
            unique_path(dir.path(), "a.txt"),
            dir.path().join("a (2).txt")
        );
        std::fs::write(dir.path().join("README"), b"x").unwrap();
        assert_eq!(
            unique_path(dir.path(), "README"),
            dir.path().join("README (1)")
        );
    }
}
