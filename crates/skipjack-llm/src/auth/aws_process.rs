//! `credential_process` from the AWS profile: the command the user's `~/.aws/config` names
//! (SSO helpers, `aws configure export-credentials`, vaults) printing temporary credentials
//! as JSON (`Version` 1, `AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration`).
//!
//! Run before a Bedrock request is built (building and signing are synchronous), through
//! `sh -c` as the AWS SDKs do on Unix, and cached until shortly before the credentials expire,
//! so a session runs the helper once an hour rather than once a request. The command comes
//! only from the user's own AWS files (the environment names them), never from a project.

use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::aws::{self, AwsCredentials, Env};
use crate::error::{ErrorKind, LlmError};
use crate::model::{Api, Model, StreamOptions};

/// Credentials this close to their expiry are fetched again before a request...
const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);
/// ...and still used when the helper itself gave no more (some vaults hand out minutes).
const USABLE_FOR: Duration = Duration::from_secs(10);
/// More output than this is no credential document.
const MAX_OUTPUT: u64 = 1024 * 1024;

/// A profile's command, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSource {
    pub profile: String,
    pub command: String,
}

struct Cached {
    source: ProcessSource,
    credentials: AwsCredentials,
    expires: Option<SystemTime>,
}

static CACHE: Mutex<Vec<Cached>> = Mutex::new(Vec::new());

/// Credentials the command printed earlier that are still good for a request now.
#[must_use]
pub fn cached(source: &ProcessSource) -> Option<AwsCredentials> {
    cached_for(source, USABLE_FOR)
}

/// Cached credentials valid for at least `margin` more.
fn cached_for(source: &ProcessSource, margin: Duration) -> Option<AwsCredentials> {
    let now = SystemTime::now();
    let cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .iter()
        .find(|c| c.source == *source)
        .filter(|c| c.expires.is_none_or(|at| at.duration_since(now).is_ok_and(|left| left > margin)))
        .map(|c| c.credentials.clone())
}

/// The profile's command to run before this request, when the request signs with SigV4, no
/// static credentials are set, and no fresh cached ones exist.
#[must_use]
pub fn pending(model: &Model, options: &StreamOptions, env: Env<'_>) -> Option<ProcessSource> {
    if model.api != Api::BedrockConverse
        || options.api_key.as_deref().is_some_and(|k| !k.trim().is_empty())
        || model.headers.keys().chain(options.headers.keys()).any(|k| k.eq_ignore_ascii_case("authorization"))
    {
        return None;
    }
    let source = aws::process_source(env)?;
    cached_for(&source, REFRESH_BEFORE).is_none().then_some(source)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    version: u32,
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    session_token: Option<String>,
    #[serde(default)]
    expiration: Option<String>,
}

fn failed(source: &ProcessSource, what: &str) -> LlmError {
    LlmError::new(ErrorKind::Auth, format!("credential_process of AWS profile {} {what}", source.profile))
}

/// The credentials in the command's output. Messages never quote the output: it holds secrets.
fn parse(source: &ProcessSource, stdout: &[u8]) -> Result<(AwsCredentials, Option<SystemTime>), LlmError> {
    let doc: Document = serde_json::from_slice(stdout).map_err(|_| {
        failed(source, "printed no credentials (expected JSON with Version 1, AccessKeyId and SecretAccessKey)")
    })?;
    if doc.version != 1 {
        return Err(failed(source, &format!("printed Version {}; only Version 1 is defined", doc.version)));
    }
    let (key, secret) = (doc.access_key_id.trim().to_owned(), doc.secret_access_key.trim().to_owned());
    if key.is_empty() || secret.is_empty() {
        return Err(failed(source, "printed an empty AccessKeyId or SecretAccessKey"));
    }
    let expires = match doc.expiration.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(text) => Some(
            DateTime::from_str(text, Format::DateTime)
                .ok()
                .and_then(|t| SystemTime::try_from(t).ok())
                .ok_or_else(|| failed(source, &format!("printed an Expiration that is no RFC 3339 time: {text:?}")))?,
        ),
    };
    let credentials = AwsCredentials {
        access_key_id: key,
        secret_access_key: secret,
        session_token: doc.session_token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
        source: format!("credential_process of profile {}", source.profile),
    };
    Ok((credentials, expires))
}

/// Run the command (within `limit`), check its output and cache the credentials.
pub async fn refresh(source: ProcessSource, limit: Duration) -> Result<(), LlmError> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&source.command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(&source, &format!("could not start: {e}")))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(failed(&source, "could not start: no pipes"));
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut stdout, mut stderr) = (stdout.take(MAX_OUTPUT), stderr.take(MAX_OUTPUT));
    let run = async {
        let (a, b) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        a.and(b)?;
        child.wait().await
    };
    let status = match tokio::time::timeout(limit, run).await {
        Err(_) => {
            let secs = limit.as_secs_f64();
            return Err(LlmError::new(
                ErrorKind::Timeout,
                format!("credential_process of AWS profile {} gave no credentials within {secs:.0} s", source.profile),
            ));
        }
        Ok(Err(e)) => return Err(failed(&source, &format!("failed: {e}"))),
        Ok(Ok(status)) => status,
    };
    if !status.success() {
        let text = String::from_utf8_lossy(&err);
        let tail: String = text.trim().chars().rev().take(300).collect::<Vec<_>>().into_iter().rev().collect();
        let code = status.code().map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
        return Err(failed(&source, &format!("exited with {code}: {tail}")));
    }
    let (credentials, expires) = parse(&source, &out)?;
    if expires.is_some_and(|at| at.duration_since(SystemTime::now()).map_or(true, |left| left <= USABLE_FOR)) {
        return Err(failed(&source, "printed credentials that have expired (see its Expiration)"));
    }
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache.retain(|c| c.source != source);
    cache.push(Cached { source, credentials, expires });
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn source() -> ProcessSource {
        ProcessSource { profile: "dev".into(), command: "x".into() }
    }

    #[test]
    fn a_full_document_parses_with_its_expiry() {
        let out = br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"s3cr3t","SessionToken":"tok","Expiration":"2030-01-02T03:04:05Z"}"#;
        let (c, at) = parse(&source(), out).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token.as_deref()), ("AKID", Some("tok")));
        let secs = at.unwrap().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, 1_893_553_445);
    }

    #[test]
    fn bad_documents_are_named_without_quoting_secrets() {
        for out in [
            &b"not json s3cr3t"[..],
            br#"{"Version":2,"AccessKeyId":"AKID","SecretAccessKey":"s3cr3t"}"#,
            br#"{"Version":1,"AccessKeyId":" ","SecretAccessKey":"s3cr3t"}"#,
            br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"s3cr3t","Expiration":"soon"}"#,
            br#"{"Version":1,"AccessKeyId":"AKID"}"#,
        ] {
            let e = parse(&source(), out).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Auth);
            assert!(!e.message.contains("s3cr3t"), "{}", e.message);
            assert!(e.message.contains("profile dev"), "{}", e.message);
        }
    }
}
