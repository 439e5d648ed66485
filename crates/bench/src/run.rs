//! One benchmark run: connect, send, drain, report.

use std::{
    cell::RefCell,
    io::Write as _,
    rc::Rc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::{
    Args,
    client::{self, Protocol},
    payload, process,
    stats::{Receiver, Stats},
};

/// The figures of one run.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    label: String,
    protocol: Protocol,
    /// `tls` or `plain`.
    transport: &'static str,
    clients: usize,
    rooms: usize,
    senders: usize,
    size: usize,
    offered_rate: f64,
    connect_seconds: f64,
    /// Clients connected (TCP, TLS, Hello, Join) per second.
    connects_per_second: f64,
    sent: u64,
    expected_deliveries: u64,
    delivered: u64,
    /// Messages the server refused (never delivered, so not lost).
    refused: u64,
    /// The rate each sender was held to: the server's advertised rate
    /// (90 % of it) when it limits, else what was offered.
    paced_rate: Option<f64>,
    lost: u64,
    duplicated: u64,
    disconnected: u64,
    deliveries_per_second: f64,
    messages_per_second: f64,
    latency_us_p50: u64,
    latency_us_p99: u64,
    latency_us_p999: u64,
    latency_us_max: u64,
    server_cpu_seconds: Option<f64>,
    server_cpu_percent: Option<f64>,
    server_rss_bytes: Option<u64>,
    server_bytes_per_connection: Option<f64>,
}

impl Report {
    pub(crate) fn print(&self) {
        let rows: Vec<(&str, String)> = vec![
            (
                "run",
                format!("{} {:?} {}", self.label, self.protocol, self.transport),
            ),
            (
                "clients / rooms / senders",
                format!("{} / {} / {}", self.clients, self.rooms, self.senders),
            ),
            ("message size", format!("{} B", self.size)),
            (
                "offered rate",
                if self.offered_rate > 0.0 {
                    format!("{} msg/s per sender", self.offered_rate)
                } else {
                    "as fast as delivered".into()
                },
            ),
            (
                "connect time (all clients)",
                format!(
                    "{:.2} s ({:.0} connects/s)",
                    self.connect_seconds, self.connects_per_second
                ),
            ),
            ("messages sent", self.sent.to_string()),
            (
                "deliveries expected / done",
                format!("{} / {}", self.expected_deliveries, self.delivered),
            ),
            (
                "refused / lost / duplicated",
                format!("{} / {} / {}", self.refused, self.lost, self.duplicated),
            ),
            (
                "paced to",
                match self.paced_rate {
                    Some(rate) => format!("{rate:.0} msg/s per sender (the server's limit)"),
                    None => "-".into(),
                },
            ),
            ("clients disconnected", self.disconnected.to_string()),
            (
                "deliveries per second",
                format!("{:.0}", self.deliveries_per_second),
            ),
            (
                "latency p50 / p99 / p99.9 / max",
                format!(
                    "{} / {} / {} / {} µs",
                    self.latency_us_p50,
                    self.latency_us_p99,
                    self.latency_us_p999,
                    self.latency_us_max
                ),
            ),
            (
                "server CPU",
                self.server_cpu_seconds.map_or("-".into(), |s| {
                    format!(
                        "{s:.2} s ({:.0} % of one core)",
                        self.server_cpu_percent.unwrap_or(0.0)
                    )
                }),
            ),
            (
                "server RSS",
                self.server_rss_bytes
                    .map_or("-".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0)),
            ),
            (
                "server memory per connection",
                self.server_bytes_per_connection
                    .map_or("-".into(), |b| format!("{:.0} B", b)),
            ),
        ];
        for (name, value) in rows {
            println!("{name:<32} {value}");
        }
    }
}

fn progress(line: &str) {
    let mut err = std::io::stderr();
    let _ = write!(err, "\r{line:<78}");
    let _ = err.flush();
}

pub(crate) async fn run(args: Args) -> anyhow::Result<Report> {
    let start = Instant::now();
    let stats = Rc::new(RefCell::new(Stats::new(args.rooms)?));
    let before = args.pid.and_then(process::usage);
    let room_of = |i: usize| i % args.rooms;
    let room_name = |r: usize| format!("#bench{r}");
    let members: Vec<u64> = (0..args.rooms)
        .map(|r| (0..args.clients).filter(|i| room_of(*i) == r).count() as u64)
        .collect();
    let senders = args.senders.min(args.clients);
    let run_id = uuid::Uuid::new_v4().simple().to_string();

    // Connect everyone, a bounded number at a time.
    let connect_started = Instant::now();
    let mut clients = Vec::with_capacity(args.clients);
    let mut pending = JoinSet::new();
    let mut next = 0;
    while clients.len() < args.clients {
        while next < args.clients && pending.len() < args.connect_parallel {
            let server = args.server[next % args.server.len()];
            let (protocol, source) = (args.protocol, args.source(next));
            let tls = !args.insecure_plaintext;
            let nick = format!("b{}{next}", &run_id[..6]);
            let room = room_name(room_of(next));
            let index = next;
            pending.spawn_local(async move {
                (
                    index,
                    client::connect(protocol, tls, server, source, &nick, &room).await,
                )
            });
            next += 1;
        }
        let Some(done) = pending.join_next().await else {
            break;
        };
        let (index, client) = done?;
        clients.push((index, client.with_context(|| format!("client {index}"))?));
        if clients.len() % 100 == 0 {
            progress(&format!("connected {}/{}", clients.len(), args.clients));
        }
    }
    let connect_seconds = connect_started.elapsed().as_secs_f64();
    clients.sort_by_key(|(index, _)| *index);

    // A server that limits the rate is not offered more than 90 % of it
    // (as the client core paces), so nothing is refused for its rate.
    let advertised = clients
        .first()
        .and_then(|(_, client)| client.limits)
        .filter(|limits| limits.rate_per_second < u32::MAX)
        .map(|limits| f64::from(limits.rate_per_second) * 0.9);
    let rate = match (args.rate > 0.0, advertised) {
        (true, Some(limit)) => args.rate.min(limit),
        (false, Some(limit)) => limit,
        (_, None) => args.rate,
    };
    // Every client reads from now on.
    let mut writers = Vec::with_capacity(clients.len());
    for (index, client) in clients {
        writers.push(client.writer.clone());
        let receiver = Receiver::new(room_of(index), senders);
        tokio::task::spawn_local(client::read_loop(
            args.protocol,
            client.reader,
            client.writer,
            client.leftover,
            stats.clone(),
            receiver,
            start,
        ));
    }
    // Let the joins' presence traffic settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let connected = args.pid.and_then(process::usage);

    let mut sent = 0u64;
    let mut sent_in_room = vec![0u64; args.rooms];
    // Deliveries expected: every message sent and not refused, to every
    // other member of its room.
    let expected = |stats: &Stats, sent_in_room: &[u64]| -> u64 {
        (0..args.rooms)
            .map(|r| {
                sent_in_room[r].saturating_sub(stats.refused_in_room[r])
                    * members[r].saturating_sub(1)
            })
            .sum()
    };
    let send_started = Instant::now();
    if !args.idle && senders > 0 {
        let deadline = send_started + Duration::from_secs_f64(args.duration);
        let mut tasks = JoinSet::new();
        for (sender, writer) in writers.iter().take(senders).enumerate() {
            let writer = writer.clone();
            let room = room_of(sender);
            let (name, stats, args) = (room_name(room), stats.clone(), args.clone());
            let receivers = members[room].saturating_sub(1).max(1);
            tasks.spawn_local(async move {
                let mut seq = 0u64;
                let mut tick = tokio::time::interval(Duration::from_millis(1));
                while Instant::now() < deadline {
                    let due = if rate > 0.0 {
                        tick.tick().await;
                        ((send_started.elapsed().as_secs_f64() * rate) as u64).saturating_sub(seq)
                    } else {
                        // Stay at most `window` messages ahead of the room's deliveries
                        // (shared by the room's senders, so approximate).
                        let delivered = stats.borrow().delivered_in_room[room] / receivers;
                        let ahead = seq.saturating_sub(
                            delivered / args.senders.div_ceil(args.rooms).max(1) as u64,
                        );
                        if ahead >= args.window {
                            tokio::task::yield_now().await;
                            continue;
                        }
                        (args.window - ahead).min(64)
                    };
                    let mut batch = Vec::new();
                    for _ in 0..due {
                        let text = payload::text(
                            sender as u32,
                            seq,
                            start.elapsed().as_nanos() as u64,
                            args.size,
                        );
                        batch.extend(client::message(args.protocol, &name, &text)?);
                        seq += 1;
                    }
                    if !batch.is_empty()
                        && client::send(&mut *writer.lock().await, &batch)
                            .await
                            .is_err()
                    {
                        break;
                    }
                }
                anyhow::Ok((room, seq))
            });
        }
        // Progress, once a second, while the senders run.
        let mut last = (Instant::now(), 0u64);
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        while !tasks.is_empty() {
            tokio::select! {
                _ = ticker.tick() => {
                    let delivered = stats.borrow().delivered;
                    let rate = (delivered - last.1) as f64 / last.0.elapsed().as_secs_f64();
                    last = (Instant::now(), delivered);
                    progress(&format!("{:.0}s: {delivered} deliveries ({rate:.0}/s)", send_started.elapsed().as_secs_f64()));
                }
                done = tasks.join_next() => if let Some(done) = done {
                    let (room, count) = done??;
                    sent += count;
                    sent_in_room[room] += count;
                },
            }
        }
        // Drain: wait for the last deliveries.
        let drain_deadline = Instant::now() + Duration::from_secs_f64(args.drain);
        while stats.borrow().delivered + stats.borrow().duplicated
            < expected(&stats.borrow(), &sent_in_room)
            && Instant::now() < drain_deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    } else {
        tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    }
    let elapsed = send_started.elapsed().as_secs_f64();
    progress("");
    eprintln!();
    let after = args.pid.and_then(process::usage);

    let stats = stats.borrow();
    let expected = expected(&stats, &sent_in_room);
    let quantile = |q: f64| stats.latency.value_at_quantile(q);
    let (cpu, cpu_percent) = match (before, after) {
        (Some(b), Some(a)) => {
            let cpu = (a.cpu - b.cpu).as_secs_f64();
            (Some(cpu), Some(100.0 * cpu / start.elapsed().as_secs_f64()))
        }
        _ => (None, None),
    };
    let per_connection = match (before, connected) {
        (Some(b), Some(c)) => Some((c.rss_bytes as f64 - b.rss_bytes as f64) / args.clients as f64),
        _ => None,
    };
    let _ = writers;
    Ok(Report {
        label: args.label.clone(),
        protocol: args.protocol,
        transport: match args.insecure_plaintext || args.protocol == Protocol::Irc {
            true => "plain",
            false => "tls",
        },
        clients: args.clients,
        rooms: args.rooms,
        senders,
        size: args.size,
        offered_rate: args.rate,
        connect_seconds,
        connects_per_second: args.clients as f64 / connect_seconds.max(1e-9),
        sent,
        expected_deliveries: expected,
        delivered: stats.delivered,
        refused: stats.refused_in_room.iter().sum(),
        paced_rate: advertised.map(|_| rate),
        lost: expected.saturating_sub(stats.delivered),
        duplicated: stats.duplicated,
        disconnected: stats.disconnected,
        deliveries_per_second: stats.delivered as f64 / elapsed,
        messages_per_second: sent as f64 / elapsed,
        latency_us_p50: quantile(0.5),
        latency_us_p99: quantile(0.99),
        latency_us_p999: quantile(0.999),
        latency_us_max: stats.latency.max(),
        server_cpu_seconds: cpu,
        server_cpu_percent: cpu_percent,
        server_rss_bytes: after.map(|a| a.rss_bytes),
        server_bytes_per_connection: per_connection,
    })
}
