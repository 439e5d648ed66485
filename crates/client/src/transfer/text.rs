//! How transfers read on screen: sizes, progress bars, rates and ETAs.

use huddle_protocol::{Target, TransferId};

use super::{Direction, TransferEvent};
use crate::sanitize::sanitize;

/// The short id users type after `/accept`, `/reject` and `/cancel`.
pub fn short_id(id: TransferId) -> String {
    id.to_string()[..8].to_owned()
}

/// `1.5 MiB`-style sizes.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `[######----] 12.0 MiB/50.0 MiB · 30.1 MiB/s · ETA 2 s`
pub fn progress_bar(done: u64, size: u64, bytes_per_second: f64) -> String {
    const WIDTH: usize = 20;
    let fraction = if size == 0 {
        1.0
    } else {
        done as f64 / size as f64
    };
    let filled = ((fraction * WIDTH as f64).round() as usize).min(WIDTH);
    let eta = if bytes_per_second > 0.0 && done < size {
        format!(" · ETA {:.0} s", (size - done) as f64 / bytes_per_second)
    } else {
        String::new()
    };
    format!(
        "[{}{}] {}/{} · {}/s{eta}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        human_size(done),
        human_size(size),
        human_size(bytes_per_second as u64)
    )
}

fn place(target: &Target) -> String {
    match target {
        Target::Room(room) => room.to_string(),
        Target::Direct(_) => "you".to_owned(),
    }
}

/// One line describing an event (names from the network are sanitised).
pub fn describe(event: &TransferEvent) -> String {
    match event {
        TransferEvent::Offered {
            id,
            from,
            name,
            size,
            target,
        } => format!(
            "{} offers {} ({}) to {}: /accept {} or /reject {}",
            sanitize(from),
            sanitize(name),
            human_size(*size),
            place(target),
            short_id(*id),
            short_id(*id)
        ),
        TransferEvent::Progress {
            direction,
            name,
            done,
            size,
            bytes_per_second,
            id,
        } => {
            let verb = match direction {
                Direction::Sending => "sending",
                Direction::Receiving => "receiving",
            };
            format!(
                "{verb} {} {} ({})",
                sanitize(name),
                progress_bar(*done, *size, *bytes_per_second),
                short_id(*id)
            )
        }
        TransferEvent::Completed {
            name,
            saved: Some(path),
            ..
        } => {
            format!(
                "received {} → saved as {}",
                sanitize(name),
                sanitize(&path.display().to_string())
            )
        }
        TransferEvent::Completed {
            name, saved: None, ..
        } => format!("sent {}", sanitize(name)),
        TransferEvent::Failed { name, reason, .. } => format!(
            "transfer of {} failed: {}",
            sanitize(name),
            sanitize(reason)
        ),
        TransferEvent::Notice(text) => sanitize(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bars() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(50 * 1024 * 1024), "50.0 MiB");
        assert_eq!(
            progress_bar(25 * 1024 * 1024, 50 * 1024 * 1024, 5.0 * 1024.0 * 1024.0),
            "[##########----------] 25.0 MiB/50.0 MiB · 5.0 MiB/s · ETA 5 s"
        );
        assert!(progress_bar(10, 10, 1.0).starts_with("[####################] 10 B/10 B"));
    }
}
