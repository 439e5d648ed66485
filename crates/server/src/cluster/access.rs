//! How a node reaches NATS: the URLs (`nats://` or `tls://`), the
//! credentials they embed as nats-server takes them (`user:password@`,
//! `token@`: async-nats 0.51 sends none of a URL's own), the certificates
//! of `--cluster-ca` / `--cluster-cert`, and one first attempt that reports
//! a server refusing this node (credentials, certificate) at once, before
//! the retrying connection waits for a server that is not up yet.

use std::time::Duration;

use super::ClusterError;

/// Connects to NATS at `urls` (within 10 s), reconnecting within a second
/// whenever the connection drops; the receiver counts the connections made.
pub(super) async fn connect(
    urls: &[String],
    tls: &crate::ClusterTls,
) -> Result<(async_nats::Client, tokio::sync::watch::Receiver<u64>), ClusterError> {
    let joined = urls.join(",");
    refused_outright(&joined, tls).await?;
    let (connected, reconnects) = tokio::sync::watch::channel(0u64);
    let client = with_tls(with_credentials(urls), tls)?
        .name("huddle-server")
        .event_callback(move |event| {
            if matches!(event, async_nats::Event::Connected) {
                connected.send_modify(|count| *count += 1);
            }
            std::future::ready(())
        })
        .retry_on_initial_connect()
        // NATS restarting: back within a second, not the default's growing
        // backoff (messages are refused while it is away).
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(100 * u64::try_from(attempts.min(10)).unwrap_or(10))
        })
        .connect(joined.as_str());
    let client = tokio::time::timeout(Duration::from_secs(10), client)
        .await
        .map_err(|_| "no answer in 10 s".to_owned())
        .and_then(|connected| connected.map_err(|err| err.to_string()))
        .map_err(|reason| ClusterError::Connect {
            urls: redacted(&joined),
            reason,
        })?;
    Ok((client, reconnects))
}

/// One attempt without retrying, so that a NATS server that answers but
/// refuses this node (its credentials, its certificate) is reported as
/// such at once; one not answering yet is left to the retrying connect.
async fn refused_outright(urls: &str, tls: &crate::ClusterTls) -> Result<(), ClusterError> {
    use async_nats::ConnectErrorKind as Kind;
    let listed: Vec<String> = urls.split(',').map(str::to_owned).collect();
    let attempt = with_tls(with_credentials(&listed), tls)?.connect(urls);
    let err = match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok(client)) => {
            drop(client.drain().await);
            return Ok(());
        }
        Ok(Err(err)) => err,
        Err(_) => return Ok(()),
    };
    let cause = std::error::Error::source(&err);
    // A certificate refused in the TLS handshake comes as invalid data.
    let handshake = cause
        .and_then(|cause| cause.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData);
    let refused = handshake
        || matches!(
            err.kind(),
            Kind::Authentication | Kind::AuthorizationViolation | Kind::Tls | Kind::ServerParse
        );
    match refused {
        true => Err(ClusterError::Connect {
            urls: redacted(urls),
            reason: match (handshake, cause) {
                (true, Some(cause)) => format!("TLS handshake refused: {cause}"),
                _ => err.to_string(),
            },
        }),
        false => Ok(()),
    }
}

/// Options carrying the credentials the first URL that has any embeds, as
/// nats-server takes them: `user:password@` or `token@` (percent-escapes
/// decoded). async-nats sends none of a URL's own.
fn with_credentials(urls: &[String]) -> async_nats::ConnectOptions {
    let options = async_nats::ConnectOptions::new();
    let Some(credentials) = urls.iter().find_map(|url| url_credentials(url)) else {
        return options;
    };
    match credentials.split_once(':') {
        Some((user, password)) => {
            options.user_and_password(percent_decoded(user), percent_decoded(password))
        }
        None => options.token(percent_decoded(&credentials)),
    }
}

/// `urls` (comma-separated) with any embedded credentials shown as `***`:
/// fit for logs and error messages.
fn redacted(urls: &str) -> String {
    urls.split(',')
        .map(|url| match url_credentials(url) {
            Some(credentials) => url.replacen(&format!("{credentials}@"), "***@", 1),
            None => url.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// What comes between `://` and `@` in `url`, if anything.
fn url_credentials(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let (credentials, _) = authority.rsplit_once('@')?;
    (!credentials.is_empty()).then(|| credentials.to_owned())
}

/// `text` with its `%XX` escapes decoded (others left as they are).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `options` with the certificates `tls` names, each checked readable
/// first (a clear error naming the file, not a failed handshake later).
fn with_tls(
    mut options: async_nats::ConnectOptions,
    tls: &crate::ClusterTls,
) -> Result<async_nats::ConnectOptions, ClusterError> {
    let readable = |path: &std::path::Path| {
        std::fs::File::open(path)
            .map(drop)
            .map_err(|err| ClusterError::TlsFile {
                file: path.display().to_string(),
                reason: err.to_string(),
            })
    };
    if let Some(ca) = &tls.ca {
        readable(ca)?;
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let Some((cert, key)) = &tls.client_cert {
        readable(cert)?;
        readable(key)?;
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_the_url_and_unescaped() {
        assert_eq!(url_credentials("nats://127.0.0.1:4222"), None);
        assert_eq!(
            url_credentials("tls://huddle:s3%40cret@10.0.0.5:4222/x@y").as_deref(),
            Some("huddle:s3%40cret")
        );
        assert_eq!(url_credentials("nats://tok@host").as_deref(), Some("tok"));
        assert_eq!(percent_decoded("s3%40cret%zz%4"), "s3@cret%zz%4");
        assert_eq!(
            redacted("nats://a:b@h1:4222,nats://h2:4222,tls://t@h3"),
            "nats://***@h1:4222,nats://h2:4222,tls://***@h3"
        );
    }
}
