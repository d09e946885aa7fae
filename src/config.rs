//! Configuration: typed defaults, then a TOML file, then `KEYWARD_*`
//! environment variables, then flags; each later source wins.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::service::Limits;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "sqlite://keyward.db";
/// Read when present and no other file is named.
pub const DEFAULT_CONFIG_FILE: &str = "keyward.toml";

/// The file's shape: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database: Option<String>,
    pub public_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub mail: Option<String>,
    pub mail_from: Option<String>,
    pub max_keys_per_account: Option<i64>,
    pub last_used_interval: Option<u64>,
}

impl FileConfig {
    /// Reads `path`, or the default file if it exists, or nothing.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let (path, must_exist) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("reading {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

/// Everything `serve` needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database: String,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub mail: Option<String>,
    pub mail_from: Option<String>,
    pub limits: Limits,
}

/// What flags and the environment said (clap merges those two).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database: Option<String>,
    pub public_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub mail: Option<String>,
    pub mail_from: Option<String>,
    pub max_keys_per_account: Option<i64>,
    pub last_used_interval: Option<u64>,
}

impl Settings {
    pub fn resolve(flags: Overrides, file: FileConfig) -> anyhow::Result<Self> {
        let listen = flags.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen.parse().with_context(|| format!("--listen {listen:?} is not an address such as 127.0.0.1:8080"))?;
        let public_url = flags.public_url.or(file.public_url).unwrap_or_else(|| format!("http://{listen}"));
        anyhow::ensure!(
            public_url.starts_with("http://") || public_url.starts_with("https://"),
            "--public-url must start with http:// or https://"
        );
        let max_keys = flags.max_keys_per_account.or(file.max_keys_per_account).unwrap_or(10);
        anyhow::ensure!(max_keys >= 1, "--max-keys-per-account must be at least 1");
        let defaults = Limits::default();
        Ok(Self {
            listen,
            database: flags.database.or(file.database).unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            public_url: public_url.trim_end_matches('/').to_owned(),
            data_dir: flags.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from(".")),
            mail: flags.mail.or(file.mail),
            mail_from: flags.mail_from.or(file.mail_from),
            limits: Limits {
                max_keys_per_account: max_keys,
                last_used_interval: flags
                    .last_used_interval
                    .or(file.last_used_interval)
                    .map_or(defaults.last_used_interval, Duration::from_secs),
                ..defaults
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_defaults() {
        let file: FileConfig = toml::from_str("listen = \"127.0.0.1:9000\"\ndatabase = \"sqlite://f.db\"\nmax-keys-per-account = 3").expect("toml");
        let flags = Overrides { database: Some("sqlite://flag.db".into()), ..Default::default() };
        let s = Settings::resolve(flags, file).expect("settings");
        assert_eq!(s.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(s.database, "sqlite://flag.db");
        assert_eq!(s.public_url, "http://127.0.0.1:9000");
        assert_eq!(s.limits.max_keys_per_account, 3);
    }

    #[test]
    fn defaults() {
        let s = Settings::resolve(Overrides::default(), FileConfig::default()).expect("settings");
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.database, DEFAULT_DATABASE);
        assert_eq!(s.limits.max_keys_per_account, 10);
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
        let bad = Overrides { listen: Some("nowhere".into()), ..Default::default() };
        assert!(Settings::resolve(bad, FileConfig::default()).is_err());
    }
}
