//! Runs the end-to-end shell scripts with the workspace's freshly built
//! binaries: two TUIs under tmux, and discovery and chat across network
//! namespaces. A script that cannot run here prints `SKIPPED: why`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// `target/debug` (or whichever profile built this test).
fn binary(name: &str) -> PathBuf {
    let path = huddle_e2e::workspace_binary(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test --workspace` builds it; run that (or `cargo build --workspace --bins`)",
        path.display()
    );
    path
}

fn run_script(script: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let output = Command::new("bash")
        .arg(&path)
        .arg(binary("huddle"))
        .arg(binary("huddle-server"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A skip is said on the real stderr, past the test harness's capture,
    // so CI logs show it.
    if let Some(reason) = stdout.lines().find(|l| l.starts_with("SKIPPED")) {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("{script}: {reason}\n").as_bytes(),
        );
    }
    println!("{script}: {stdout}{stderr}");
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn two_tuis_in_tmux_chat_and_restore_their_terminals() {
    run_script("tmux_e2e.sh");
}

#[test]
fn discovery_and_chat_across_network_namespaces() {
    run_script("netns_e2e.sh");
}

#[test]
fn the_status_page_passes_promtool_and_renders_in_chromium() {
    run_script("status_e2e.sh");
}

#[test]
fn the_deb_and_the_crates_hold_what_they_should() {
    run_script("packaging_e2e.sh");
}

#[test]
fn the_tui_is_photographed_for_the_readme() {
    run_script("tui_screenshot.sh");
}

#[test]
fn weechat_and_irssi_chat_with_a_huddle_tui_through_the_gateway() {
    run_script("irc_e2e.sh");
}
