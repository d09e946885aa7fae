//! The files a node keeps beside its database: the data folder, the secret
//! key file, and the SQLite file. Each is created readable by its owner
//! only: a database copy must not come with what unseals it, and nobody else
//! on the machine should read either.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::domain::SealingKey;

const OWNER_ONLY_DIR: u32 = 0o700;
const OWNER_ONLY_FILE: u32 = 0o600;

/// Creates the data folder, owner-only, when it does not exist yet. An
/// existing folder is left as its owner set it.
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(OWNER_ONLY_DIR)
        .create(dir)
        .with_context(|| format!("creating the data folder {}", dir.display()))
}

/// Creates a folder of keyward's own that holds secrets (the file
/// transport's `outbox/`, whose messages carry one-time links) owner-only,
/// and tightens one found open to others: nobody else on the machine may
/// read what is only for a link's owner.
pub fn prepare_private_dir(dir: &Path) -> anyhow::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(OWNER_ONLY_DIR)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let meta = fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(dir, Permissions::from_mode(OWNER_ONLY_DIR))
            .with_context(|| format!("making {} owner-only", dir.display()))?;
        tracing::warn!(dir = %dir.display(), "a folder holding mail was readable by others; made owner-only");
    }
    Ok(())
}

/// Where the secret key comes from.
#[derive(Clone)]
pub enum SecretKeySource {
    /// A file; `create` when it is the default one, made on first use.
    File { path: PathBuf, create: bool },
    /// The key's text, from `KEYWARD_SECRET_KEY`.
    Value(String),
}

impl std::fmt::Debug for SecretKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretKeySource::File { path, create } => write!(f, "File({}, create: {create})", path.display()),
            SecretKeySource::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

/// The secret key, from the environment or its file; the default file is
/// made on first use. Nodes starting together on one folder agree on one key.
pub fn load_secret_key(source: &SecretKeySource) -> anyhow::Result<SealingKey> {
    match source {
        SecretKeySource::Value(text) => SealingKey::from_text(text).context("KEYWARD_SECRET_KEY"),
        SecretKeySource::File { path, create } => match fs::read_to_string(path) {
            Ok(text) => {
                warn_if_shared(path);
                SealingKey::from_text(&text).with_context(|| format!("reading the secret key {}", path.display()))
            }
            Err(e) if e.kind() == ErrorKind::NotFound && *create => create_key_file(path),
            Err(e) => Err(e).with_context(|| format!("reading the secret key file {}", path.display())),
        },
    }
}

/// Writes a new key beside `path` and links it into place, so that a racing
/// process either wins or reads the winner's complete file.
fn create_key_file(path: &Path) -> anyhow::Result<SealingKey> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        prepare_data_dir(dir)?;
    }
    let key = SealingKey::generate().map_err(|e| anyhow::anyhow!("no OS randomness for the secret key: {e}"))?;
    let staging = staging_path(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY_FILE)
        .open(&staging)
        .with_context(|| format!("creating {}", staging.display()))?;
    let written = file.write_all(format!("{}\n", key.to_text()).as_bytes()).and_then(|()| file.sync_all());
    drop(file);
    let linked = written.and_then(|()| fs::hard_link(&staging, path));
    let _ = fs::remove_file(&staging);
    match linked {
        Ok(()) => {
            tracing::info!(
                path = %path.display(),
                "created a new secret key; keep it, and back it up apart from the database: without it the \
                 database's signing material cannot be opened"
            );
            Ok(key)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            load_secret_key(&SecretKeySource::File { path: path.to_path_buf(), create: false })
        }
        Err(e) => Err(e).with_context(|| format!("writing the secret key {}", path.display())),
    }
}

fn staging_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.new", std::process::id()));
    path.with_file_name(name)
}

fn warn_if_shared(path: &Path) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the secret key file is readable by others: chmod 600 it");
    }
}

/// The file behind a `sqlite:` URL, if it names one (not `:memory:`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// Creates the SQLite file owner-only before SQLite does (SQLite gives its
/// `-wal` and `-shm` files the database file's mode), and tightens one that
/// an earlier version left readable by others.
pub fn prepare_sqlite_file(url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        prepare_data_dir(dir)?;
    }
    match OpenOptions::new().write(true).create_new(true).mode(OWNER_ONLY_FILE).open(&path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating the database {}", path.display())),
    }
    for file in [path.clone(), suffixed(&path, "-wal"), suffixed(&path, "-shm")] {
        if let Ok(meta) = fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            fs::set_permissions(&file, Permissions::from_mode(OWNER_ONLY_FILE))
                .with_context(|| format!("making {} owner-only", file.display()))?;
            tracing::info!(path = %file.display(), "made the database file owner-only");
        }
    }
    Ok(())
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://keyward.db"), Some(PathBuf::from("keyward.db")));
        assert_eq!(sqlite_path("sqlite:///abs/k.db?mode=rwc"), Some(PathBuf::from("/abs/k.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }

    #[test]
    fn new_files_and_folders_are_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("a/b");
        prepare_data_dir(&data).expect("data dir");
        assert_eq!(mode(&data), 0o700);
        let db = data.join("k.db");
        prepare_sqlite_file(&format!("sqlite://{}", db.display())).expect("db");
        assert_eq!(mode(&db), 0o600);
        let key_file = data.join("secret.key");
        let key = load_secret_key(&SecretKeySource::File { path: key_file.clone(), create: true }).expect("key");
        assert_eq!(mode(&key_file), 0o600);
        let again = load_secret_key(&SecretKeySource::File { path: key_file, create: true }).expect("same key");
        assert_eq!(again.to_text(), key.to_text());
    }

    #[test]
    fn a_mail_folder_is_owner_only_even_when_it_was_not() {
        let tmp = tempfile::tempdir().expect("dir");
        let outbox = tmp.path().join("data").join("outbox");
        prepare_private_dir(&outbox).expect("create");
        assert_eq!(mode(&outbox), 0o700);
        fs::set_permissions(&outbox, Permissions::from_mode(0o755)).expect("chmod");
        prepare_private_dir(&outbox).expect("again");
        assert_eq!(mode(&outbox), 0o700);
    }

    #[test]
    fn a_shared_database_file_is_tightened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("old.db");
        fs::write(&db, b"").expect("file");
        fs::set_permissions(&db, Permissions::from_mode(0o644)).expect("chmod");
        prepare_sqlite_file(&format!("sqlite://{}", db.display())).expect("db");
        assert_eq!(mode(&db), 0o600);
    }

    #[test]
    fn a_named_key_file_must_exist_and_hold_a_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.key");
        assert!(load_secret_key(&SecretKeySource::File { path: missing, create: false }).is_err());
        let junk = dir.path().join("junk.key");
        fs::write(&junk, "not a key").expect("file");
        assert!(load_secret_key(&SecretKeySource::File { path: junk, create: false }).is_err());
        assert!(load_secret_key(&SecretKeySource::Value("short".into())).is_err());
    }
}
