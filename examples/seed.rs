//! Seeds a keyward database for `bench/hotpath.sh`: one organization, an
//! admin service account with a key (made through the service layer, as
//! `keyward admin` makes them), then N viewer accounts with Basic auth
//! enabled and one key each, written straight through the store in large
//! transactions (no audit events, no per-request work), so that a million
//! keys take minutes rather than hours.
//!
//! Each key is made as keyward mints one: a fresh secret from the OS, its
//! lookup hash (SHA-256 of SHA-256) and its assertion key sealed with the
//! data folder's secret key for the key's id. Every seeded secret works for
//! every way of presenting it (raw, Bearer, Basic, the token endpoint).
//!
//!   cargo build --release --example seed
//!   target/release/examples/seed --database sqlite:///tmp/b/keyward.db --data-dir /tmp/b \
//!     --accounts 100000 --out /tmp/b/seed [--jobs 4] [--batch 5000] [--unknown 1000]
//!
//! Writes to `--out`: `admin.json` (`orgId`, `accountId`, `keyId`, `secret`
//! of the admin key), `keys.tsv` (per seeded key: account id, key id,
//! secret, base64 of `keyId:secret` for Basic) and `unknown.txt` (well-formed
//! secrets that were never stored). Prints one JSON object: what it made and
//! how long it took. The secrets are real: keep the files to the bench.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Parser;
use keyward::config::{DEFAULT_SECRET_KEY_FILE, SecretKeySource};
use keyward::domain::entity::{ApiKey, ServiceAccount};
use keyward::domain::{CreatedBy, Id, Name, Narrowing, Role, SealingKey, Secret, UnixTime};
use keyward::service::accounts::NewAccount;
use keyward::service::keys::{Lifetime, NewKey};
use keyward::service::{Limits, Principal, Service};
use keyward::store::credential_changes::{self, CredentialChange};
use keyward::store::{Store, accounts, keys};

#[derive(Parser)]
struct Args {
    /// sqlite://FILE or postgres://…, as for `keyward serve`.
    #[arg(long)]
    database: String,
    /// The folder whose secret.key seals the keys (made when missing); give
    /// `keyward serve` the same.
    #[arg(long, default_value = ".")]
    data_dir: PathBuf,
    /// Accounts to make, each with one key.
    #[arg(long)]
    accounts: usize,
    /// Where to write admin.json, keys.tsv and unknown.txt.
    #[arg(long)]
    out: PathBuf,
    /// Transactions writing at once (SQLite takes one writer at a time anyway).
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Accounts (with their keys) per transaction.
    #[arg(long, default_value_t = 5000)]
    batch: usize,
    /// Well-formed secrets to mint and not store, for the wrong-key requests.
    #[arg(long, default_value_t = 1000)]
    unknown: usize,
}

/// One seeded key's line in keys.tsv.
fn line(account: &Id, key: &Id, secret: &Secret) -> String {
    let basic = STANDARD.encode(format!("{key}:{}", secret.expose()));
    format!("{account}\t{key}\t{}\t{basic}\n", secret.expose())
}

/// Writes batch `index` (accounts `index * size ..`) in one transaction and
/// answers its keys.tsv lines.
async fn seed_batch(
    store: &Store,
    sealing: &SealingKey,
    org: &Id,
    created_by: &CreatedBy,
    now: UnixTime,
    range: std::ops::Range<usize>,
) -> anyhow::Result<String> {
    let mut rows = Vec::with_capacity(range.len());
    for i in range {
        let account = ServiceAccount {
            id: Id::generate(),
            org_id: org.clone(),
            name: Name::from_stored(format!("bench-{i:08}")),
            role: Role::Viewer,
            enable_basic_auth: true,
            email: None,
            email_confirmed: false,
            disabled: false,
            created: now,
            last_used: None,
            deleted: None,
            meta: None,
        };
        let key = ApiKey {
            id: Id::generate(),
            account_id: account.id.clone(),
            name: None,
            created: now,
            created_by: created_by.clone(),
            expires: None,
            last_used: None,
            disabled: false,
            narrowing: Narrowing::default(),
        };
        let secret = Secret::mint()?;
        // As `service::keys` seals it: for the context "api-key:{id}".
        let sealed = sealing.seal(&format!("api-key:{}", key.id), secret.assertion_key().as_bytes())?;
        rows.push((account, key, secret, sealed));
    }
    let mut tx = store.begin().await?;
    let mut out = String::with_capacity(rows.len() * 240);
    for (account, key, secret, sealed) in &rows {
        accounts::insert(tx.conn(), account).await?;
        keys::insert(tx.conn(), key, &secret.hash(), sealed).await?;
        out.push_str(&line(&account.id, &key.id, secret));
    }
    tx.commit().await?;
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    keyward::files::prepare_data_dir(&args.data_dir)?;
    let key_file = args.data_dir.join(DEFAULT_SECRET_KEY_FILE);
    let sealing = keyward::files::load_secret_key(&SecretKeySource::File { path: key_file, create: true })?;
    let store = Store::open(&args.database).await?;
    let service = Service::new(store.clone(), Limits::default(), sealing.clone());
    service.adopt_secret_key().await?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;

    // The admin, as `keyward admin create-service-account --role admin --with-key` makes it.
    let org = service.create_org(Name::parse("bench")?).await?;
    let by = Principal::operator(org.id.clone());
    let new = NewAccount {
        name: Name::parse("bench-admin")?,
        enable_basic_auth: true,
        role: Role::Admin,
        email: None,
        meta: None,
    };
    let admin = service.create_account(&by, new).await?;
    let new_key = NewKey { name: None, lifetime: Lifetime::Unlimited, narrowing: Narrowing::default() };
    let admin_key = service.create_key(&by, &admin.account.id, new_key).await?;
    let admin_json = serde_json::json!({
        "orgId": org.id,
        "accountId": admin.account.id,
        "keyId": admin_key.key.id,
        "secret": admin_key.secret.expose(),
    });
    std::fs::write(args.out.join("admin.json"), format!("{admin_json}\n"))?;

    let mut unknown = String::new();
    for _ in 0..args.unknown {
        unknown.push_str(Secret::mint()?.expose());
        unknown.push('\n');
    }
    std::fs::write(args.out.join("unknown.txt"), unknown)?;

    // The bulk: batches taken in turn by `jobs` writers; lines written in
    // the order the batches finish (keys.tsv is not sorted).
    let seeding = Instant::now();
    let batch = args.batch.max(1);
    let batches = args.accounts.div_ceil(batch);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let created_by = by.created_by();
    let now = service.now();
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::channel::<String>(args.jobs.max(1) * 2);
    let mut writers = Vec::new();
    for _ in 0..args.jobs.max(1) {
        let (store, sealing, org, created_by) = (store.clone(), sealing.clone(), org.id.clone(), created_by.clone());
        let (next, done, lines_tx, total) = (next.clone(), done.clone(), lines_tx.clone(), args.accounts);
        writers.push(tokio::spawn(async move {
            loop {
                let b = next.fetch_add(1, Ordering::SeqCst);
                if b >= batches {
                    return anyhow::Ok(());
                }
                let range = b * batch..((b + 1) * batch).min(total);
                let n = range.len();
                let lines = seed_batch(&store, &sealing, &org, &created_by, now, range).await?;
                lines_tx.send(lines).await.ok();
                let made = done.fetch_add(n, Ordering::SeqCst) + n;
                let secs = seeding.elapsed().as_secs_f64();
                eprintln!("seed: {made}/{total} accounts and keys, {:.0}/s", made as f64 / secs);
            }
        }));
    }
    drop(lines_tx);
    let mut file = std::io::BufWriter::new(std::fs::File::create(args.out.join("keys.tsv"))?);
    while let Some(lines) = lines_rx.recv().await {
        file.write_all(lines.as_bytes())?;
    }
    file.flush()?;
    for writer in writers {
        writer.await??;
    }
    let bulk_seconds = seeding.elapsed().as_secs_f64();

    // Any node already serving drops what it cached; PostgreSQL gets the
    // planner statistics its autovacuum would have gathered by itself.
    let mut tx = store.begin().await?;
    credential_changes::record(tx.conn(), &CredentialChange::Everything, service.now()).await?;
    tx.commit().await?;
    if args.database.starts_with("postgres") {
        let mut conn = store.read().await?;
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
    }
    store.close().await;
    let summary = serde_json::json!({
        "accounts": args.accounts,
        "keys": args.accounts,
        "orgId": org.id,
        "bulkSeconds": (bulk_seconds * 1000.0).round() / 1000.0,
        "perSecond": (args.accounts as f64 / bulk_seconds).round(),
        "seconds": (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    });
    println!("{summary}");
    Ok(())
}
