//! `cargo xtask assets`: writes the man pages (`assets/man/`) and the
//! shell completions (`assets/completions/`) of `huddle` and
//! `huddle-server` from their clap definitions. A test fails when the
//! committed files differ from what this writes, so they never go stale.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};
use clap_complete::Shell;

/// One generated file: where it goes under the workspace, and its bytes.
type Asset = (PathBuf, Vec<u8>);

/// The workspace's top directory.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every generated asset, in memory.
fn assets() -> anyhow::Result<Vec<Asset>> {
    let mut assets = Vec::new();
    for command in [huddle::cli::command(), huddle_server::cli::command()] {
        let name = command.get_name().to_owned();
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone())
            .render(&mut page)
            .with_context(|| format!("cannot render the man page of {name}"))?;
        assets.push((PathBuf::from(format!("assets/man/{name}.1")), page));
        for (shell, file) in [
            (Shell::Bash, format!("{name}.bash")),
            (Shell::Zsh, format!("_{name}")),
            (Shell::Fish, format!("{name}.fish")),
        ] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command.clone(), &name, &mut script);
            assets.push((PathBuf::from(format!("assets/completions/{file}")), script));
        }
    }
    Ok(assets)
}

fn write_assets() -> anyhow::Result<()> {
    let root = workspace();
    for (path, bytes) in assets()? {
        let path = root.join(path);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("assets") => write_assets(),
        _ => bail!("usage: cargo xtask assets   (writes assets/man and assets/completions)"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests may panic.

    use super::*;

    #[test]
    fn the_committed_man_pages_and_completions_are_what_xtask_writes() {
        let root = workspace();
        let assets = assets().unwrap();
        assert_eq!(assets.len(), 8);
        for (path, bytes) in assets {
            let committed = fs::read(root.join(&path)).unwrap_or_default();
            assert!(
                committed == bytes,
                "{} is not what `cargo xtask assets` writes: run it and commit the result",
                path.display()
            );
        }
    }

    /// The README's pictures are in `assets/screenshots/` and are PNGs
    /// (made by `tests/tui_screenshot.sh` and `tests/status_e2e.sh`).
    #[test]
    fn the_readmes_pictures_exist_and_are_pngs() {
        let root = workspace();
        let readme = fs::read_to_string(root.join("README.md")).unwrap();
        let pictures: Vec<&str> = readme
            .match_indices("](assets/screenshots/")
            .map(|(at, _)| {
                let path = &readme[at + 2..];
                &path[..path.find(')').unwrap()]
            })
            .collect();
        assert!(pictures.len() >= 2, "{pictures:?}");
        for picture in pictures {
            let bytes = fs::read(root.join(picture)).unwrap();
            assert!(
                bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{picture} is not a PNG"
            );
        }
    }
}
