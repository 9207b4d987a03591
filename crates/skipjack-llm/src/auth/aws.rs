//! AWS credentials and region from the standard places, and SigV4 signing with `aws-sigv4`.
//!
//! The reader covers the static part of the AWS credential chain: the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the profile named
//! by `AWS_PROFILE` (else `default`) in the shared credentials file
//! (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`) and the config file
//! (`AWS_CONFIG_FILE`, else `~/.aws/config`, section `[profile NAME]`). It is written here
//! because `aws-config`, which also does SSO, `credential_process` and role assumption, brings
//! its own HTTP stack and the STS/SSO SDKs — several times the rest of the core's build. The
//! signature itself is never hand-made: `aws-sigv4` computes it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use super::aws_process::{self, ProcessSource};
use crate::error::{ErrorKind, LlmError};

/// Where a credential lookup reads environment variables (the process's, or a test's map).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, empty values treated as unset.
#[must_use]
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Static AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Where they were found, for error messages (never the values).
    pub source: String,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials").field("source", &self.source).finish_non_exhaustive()
    }
}

fn get(env: Env<'_>, name: &str) -> Option<String> {
    env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn home(env: Env<'_>) -> Option<PathBuf> {
    get(env, "HOME").or_else(|| get(env, "USERPROFILE")).map(PathBuf::from)
}

fn profile_name(env: Env<'_>) -> String {
    get(env, "AWS_PROFILE").unwrap_or_else(|| "default".to_owned())
}

fn credentials_file(env: Env<'_>) -> Option<PathBuf> {
    get(env, "AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from).or_else(|| home(env).map(|h| h.join(".aws/credentials")))
}

fn config_file(env: Env<'_>) -> Option<PathBuf> {
    get(env, "AWS_CONFIG_FILE").map(PathBuf::from).or_else(|| home(env).map(|h| h.join(".aws/config")))
}

/// The `key = value` pairs of one section of an AWS INI file; `None` when the file or the
/// section is absent. Comment lines (`#`, `;`) and indented sub-settings are skipped.
fn ini_section(path: &PathBuf, section: &str) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut found: Option<HashMap<String, String>> = None;
    let mut inside = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            // Compared with inner whitespace collapsed, as the CLI does (`[profile  x]`).
            inside = name.split_whitespace().collect::<Vec<_>>().join(" ") == section;
            if inside {
                found.get_or_insert_with(HashMap::new);
            }
            continue;
        }
        if !inside || raw.starts_with(char::is_whitespace) {
            continue;
        }
        if let (Some(map), Some((k, v))) = (found.as_mut(), line.split_once('=')) {
            map.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    found
}

/// The profile's settings, the credentials file's values winning over the config file's.
fn profile(env: Env<'_>) -> (String, HashMap<String, String>) {
    let name = profile_name(env);
    let mut merged = HashMap::new();
    let config_section = if name == "default" { "default".to_owned() } else { format!("profile {name}") };
    if let Some(map) = config_file(env).and_then(|p| ini_section(&p, &config_section)) {
        merged.extend(map);
    }
    if let Some(map) = credentials_file(env).and_then(|p| ini_section(&p, &name)) {
        merged.extend(map);
    }
    (name, merged)
}

fn static_keys(settings: &HashMap<String, String>) -> Option<(String, String)> {
    let value = |k: &str| settings.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    value("aws_access_key_id").zip(value("aws_secret_access_key"))
}

/// The profile's `credential_process`, when neither the environment nor the profile holds
/// static keys (those win, as in the AWS CLI's chain).
#[must_use]
pub fn process_source(env: Env<'_>) -> Option<ProcessSource> {
    if get(env, "AWS_ACCESS_KEY_ID").is_some() && get(env, "AWS_SECRET_ACCESS_KEY").is_some() {
        return None;
    }
    let (profile, settings) = profile(env);
    if static_keys(&settings).is_some() {
        return None;
    }
    let command = settings.get("credential_process").map(|c| c.trim().to_owned()).filter(|c| !c.is_empty())?;
    Some(ProcessSource { profile, command })
}

/// Credentials from the environment, else from the profile (static keys, else what its
/// `credential_process` printed: `aws_process::refresh` runs it before the request is
/// built); an error says where it looked.
pub fn resolve_credentials(env: Env<'_>) -> Result<AwsCredentials, LlmError> {
    let key = get(env, "AWS_ACCESS_KEY_ID");
    let secret = get(env, "AWS_SECRET_ACCESS_KEY");
    if let (Some(access_key_id), Some(secret_access_key)) = (key.clone(), secret.clone()) {
        return Ok(AwsCredentials {
            access_key_id,
            secret_access_key,
            session_token: get(env, "AWS_SESSION_TOKEN"),
            source: "environment (AWS_ACCESS_KEY_ID)".to_owned(),
        });
    }
    let (name, settings) = profile(env);
    let value = |k: &str| settings.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if let Some((access_key_id, secret_access_key)) = static_keys(&settings) {
        return Ok(AwsCredentials {
            access_key_id,
            secret_access_key,
            session_token: value("aws_session_token"),
            source: format!("profile {name}"),
        });
    }
    if let Some(source) = process_source(env) {
        return aws_process::cached(&source).ok_or_else(|| {
            LlmError::new(
                ErrorKind::Auth,
                format!("credential_process of AWS profile {name} has not given credentials"),
            )
        });
    }
    let half = if key.is_some() != secret.is_some() {
        " (only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set)"
    } else {
        ""
    };
    let unsupported = ["sso_session", "sso_start_url", "role_arn", "web_identity_token_file"]
        .iter()
        .find(|k| settings.contains_key(**k))
        .map(|k| format!("; profile {name} uses {k}, which skipjack does not run: add a profile with `credential_process = aws configure export-credentials --profile {name} --format process` and set AWS_PROFILE to it, or export static credentials"))
        .unwrap_or_default();
    Err(LlmError::new(
        ErrorKind::Auth,
        format!(
            "no AWS credentials for Bedrock{half}: set AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key), or \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or keys for profile {name} in ~/.aws/credentials{unsupported}"
        ),
    ))
}

/// `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`. A value that
/// is not a region name (letters, digits, dashes) is skipped: it goes into a host name.
#[must_use]
pub fn resolve_region(env: Env<'_>) -> String {
    let valid = |r: &String| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    get(env, "AWS_REGION")
        .filter(valid)
        .or_else(|| get(env, "AWS_DEFAULT_REGION").filter(valid))
        .or_else(|| profile(env).1.remove("region").filter(valid))
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// The headers to add to a request so it carries a SigV4 signature for `service` in `region`
/// at `time`: `x-amz-date`, `authorization`, and `x-amz-security-token` with a session token.
/// `headers` are the ones that will be sent (signed along, `host` taken from the URL).
pub fn sign_headers(
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    time: SystemTime,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<(String, String)>, LlmError> {
    let failed =
        |e: &dyn std::fmt::Display| LlmError::new(ErrorKind::BadRequest, format!("could not sign the request: {e}"));
    let identity: Identity = Credentials::new(
        &credentials.access_key_id,
        &credentials.secret_access_key,
        credentials.session_token.clone(),
        None,
        "skipjack",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| failed(&e))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| failed(&e))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| failed(&e))?.into_parts();
    Ok(instructions.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn environment_wins_over_profiles() {
        let env = env_of(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s3cret"),
            ("AWS_SESSION_TOKEN", "tok"),
            ("HOME", "/nonexistent"),
        ]);
        let c = resolve_credentials(&env).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token.as_deref()), ("AKID", Some("tok")));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn profiles_are_read_from_both_files() {
        let dir = std::env::temp_dir().join(format!("skipjack-aws-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".aws")).unwrap();
        std::fs::write(
            dir.join(".aws/credentials"),
            "# comment\n[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n\n[work]\naws_access_key_id=WORK\n  ; indented comment\naws_secret_access_key =  worksecret \naws_session_token = worktoken\n",
        )
        .unwrap();
        std::fs::write(
            dir.join(".aws/config"),
            "[default]\nregion = eu-west-1\n[profile  work]\nregion = ap-south-1\n",
        )
        .unwrap();
        let home = dir.to_str().unwrap();
        let env = env_of(&[("HOME", home)]);
        let c = resolve_credentials(&env).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.secret_access_key.as_str()), ("DEF", "defsecret"));
        assert_eq!(resolve_region(&env), "eu-west-1");
        let env = env_of(&[("HOME", home), ("AWS_PROFILE", "work")]);
        let c = resolve_credentials(&env).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.secret_access_key.as_str()), ("WORK", "worksecret"));
        assert_eq!(c.session_token.as_deref(), Some("worktoken"));
        assert_eq!(resolve_region(&env), "ap-south-1");
        let env = env_of(&[("HOME", home), ("AWS_PROFILE", "missing")]);
        let e = resolve_credentials(&env).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(e.message.contains("profile missing"), "{}", e.message);
        let env = env_of(&[("HOME", home), ("AWS_REGION", "us-west-2")]);
        assert_eq!(resolve_region(&env), "us-west-2");
        // A region is a host name label: anything else is skipped for the next source.
        let env = env_of(&[("HOME", home), ("AWS_REGION", "evil.example.com/x"), ("AWS_DEFAULT_REGION", "eu-north-1")]);
        assert_eq!(resolve_region(&env), "eu-north-1");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn half_set_environment_is_named() {
        let env = env_of(&[("AWS_ACCESS_KEY_ID", "AKID"), ("HOME", "/nonexistent")]);
        let e = resolve_credentials(&env).unwrap_err();
        assert!(e.message.contains("only one of"), "{}", e.message);
    }
}
