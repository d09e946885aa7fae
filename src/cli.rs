//! The command line: `serve`, `migrate` and the operator's `admin` commands.
//! Logs go to stderr; a command with a result prints one JSON object on stdout.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use crate::config::{Knobs, Settings};
use crate::domain::{Email, Id, Meta, Name, Narrowing, RateLimit, Role, cidr, scope};
use crate::http::api::accounts::ServiceAccountView;
use crate::http::api::keys::CreatedKeyView;
use crate::server::{open_service, serve};
use crate::service::accounts::NewAccount;
use crate::service::keys::{Lifetime, NewKey};
use crate::service::{Principal, Service, ServiceError};

#[derive(Debug, Parser)]
#[command(name = "keyward", version, about = "Service accounts and API keys for machines")]
pub struct Cli {
    /// A TOML configuration file (default: ./keyward.toml when present).
    #[arg(long, global = true, env = "KEYWARD_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    knobs: Knobs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default command).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Operator commands that act on the database directly.
    #[command(subcommand)]
    Admin(Admin),
}

/// The operator's way in before anyone can log in: `create-org`,
/// `create-user`, `create-service-account` (the README's "First run").
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Subcommand)]
enum Admin {
    /// Create an organization; prints {"id", "name"}.
    CreateOrg {
        #[arg(long)]
        name: String,
    },
    /// Create a user in an organization, reading the password from stdin;
    /// prints {"id", "email", "orgId", "role"}.
    CreateUser {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Create a service account; prints its JSON, with "key" when --with-key.
    CreateServiceAccount {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "viewer")]
        role: Role,
        /// Allow Basic authentication with keyId:secret.
        #[arg(long)]
        basic_auth: bool,
        /// The account's meta: a JSON object of at most 4 KiB.
        #[arg(long, value_name = "JSON")]
        meta: Option<String>,
        /// Also create a key and print its secret (shown only this once).
        #[arg(long)]
        with_key: bool,
        #[command(flatten)]
        key: KeyNarrowing,
    },
    /// Start a new access-token signing key; prints {"kid", "previousKid"}.
    /// Tokens signed with the previous key keep verifying until they expire.
    RotateSigningKey,
}

/// How the key made by `--with-key` is narrower than its account.
#[derive(Debug, clap::Args)]
struct KeyNarrowing {
    /// The key's own role, at most the account's [default: the account's]
    #[arg(long, requires = "with_key")]
    key_role: Option<Role>,
    /// A scope the key carries; repeat for several.
    #[arg(long = "scope", value_name = "SCOPE", requires = "with_key")]
    scopes: Vec<String>,
    /// An address or CIDR range the key may be used from; repeat for several [default: anywhere]
    #[arg(long = "allowed-cidr", value_name = "CIDR", requires = "with_key")]
    allowed_cidrs: Vec<String>,
    /// At most N successful uses in any SECONDS, such as 100/60.
    #[arg(long, value_name = "N/SECONDS", requires = "with_key")]
    rate_limit: Option<String>,
    /// The key's meta: a JSON object of at most 4 KiB.
    #[arg(long, value_name = "JSON", requires = "with_key")]
    key_meta: Option<String>,
}

impl KeyNarrowing {
    fn parse(self) -> anyhow::Result<Narrowing> {
        let list_error = |flag: &str| {
            let flag = flag.to_owned();
            move |(i, detail): crate::domain::narrow::ListError| match i {
                Some(i) => anyhow::anyhow!("--{flag} (the {}th): {detail}", i + 1),
                None => anyhow::anyhow!("--{flag}: {detail}"),
            }
        };
        let rate_limit = match self.rate_limit {
            None => None,
            Some(raw) => {
                let (limit, period) = raw
                    .split_once('/')
                    .and_then(|(n, s)| Some((n.trim().parse::<i64>().ok()?, s.trim().parse::<i64>().ok()?)))
                    .with_context(|| format!("--rate-limit {raw:?} is not N/SECONDS, such as 100/60"))?;
                Some(RateLimit::parse(limit, period).map_err(|e| anyhow::anyhow!("--rate-limit {}: {e}", e.member()))?)
            }
        };
        Ok(Narrowing {
            role: self.key_role,
            scopes: scope::parse_list(&self.scopes).map_err(list_error("scope"))?,
            allowed_cidrs: cidr::parse_list(&self.allowed_cidrs).map_err(list_error("allowed-cidr"))?,
            rate_limit,
            meta: self.key_meta.as_deref().map(|raw| parse_meta("--key-meta", raw)).transpose()?,
        })
    }
}

fn parse_meta(flag: &str, raw: &str) -> anyhow::Result<Meta> {
    serde_json::from_str::<serde::de::IgnoredAny>(raw).with_context(|| format!("{flag} is not JSON"))?;
    Meta::parse_text(raw).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

impl clap::ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &Role::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end: dropping it writes out the lines still queued.
    let _log = init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Some(output)) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Log lines go to standard error from a thread of their own: a request
/// only queues its line, and never waits on a lock or a write. Should the
/// queue ever fill (128,000 lines behind), lines are dropped rather than
/// requests slowed.
fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYWARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    guard
}

async fn run(mut cli: Cli) -> anyhow::Result<Option<Value>> {
    cli.knobs.secret_key = std::env::var("KEYWARD_SECRET_KEY").ok();
    let settings = Settings::resolve(cli.knobs.or(Knobs::load(cli.config.as_deref())?))?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            serve(settings).await?;
            Ok(None)
        }
        Command::Migrate => {
            crate::service::Service::migrate(&settings.database).await?;
            tracing::info!("migrations applied");
            Ok(Some(json!({"migrated": true})))
        }
        Command::Admin(admin) => {
            let service = open_service(&settings).await?;
            let out = run_admin(&service, admin).await;
            service.close().await;
            out.map(Some)
        }
    }
}

async fn run_admin(service: &Service, admin: Admin) -> anyhow::Result<Value> {
    match admin {
        Admin::CreateOrg { name } => {
            let org = service.create_org(Name::parse(&name).context("--name")?).await.map_err(explain)?;
            Ok(json!({"id": org.id, "name": org.name}))
        }
        Admin::CreateUser { org, email, role, password_stdin: _ } => {
            let org = parse_org(&org)?;
            let email = Email::parse(&email).context("--email")?;
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password).context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let member = service.create_user(&org, email, role, password).await.map_err(explain)?;
            if member.accepted.is_none() {
                tracing::info!(
                    "the address already has an account: it is invited, and joins when the person accepts \
                     (its password is unchanged)"
                );
            }
            Ok(json!({"id": member.id, "email": member.email, "orgId": member.org_id, "role": member.role}))
        }
        Admin::CreateServiceAccount { org, name, role, basic_auth, meta, with_key, key } => {
            let org = parse_org(&org)?;
            // Everything is checked before anything is written.
            let narrowing = key.parse()?;
            if let Some(key_role) = narrowing.role.filter(|r| *r > role) {
                anyhow::bail!("--key-role {key_role} must not exceed the account's --role {role}");
            }
            let meta = meta.as_deref().map(|raw| parse_meta("--meta", raw)).transpose()?;
            service.get_org(&org).await.map_err(explain)?;
            let by = Principal::operator(org);
            let new = NewAccount {
                name: Name::parse(&name).context("--name")?,
                enable_basic_auth: basic_auth,
                role,
                email: None,
                meta,
            };
            let mut account = service.create_account(&by, new).await.map_err(explain)?;
            let key = if with_key {
                let minted = service
                    .create_key(
                        &by,
                        &account.account.id,
                        NewKey { name: None, lifetime: Lifetime::Unlimited, narrowing },
                    )
                    .await
                    .map_err(explain)?;
                account.keys.push(minted.key.clone());
                Some(CreatedKeyView::from(minted))
            } else {
                None
            };
            let mut out = serde_json::to_value(ServiceAccountView::from(account))?;
            if let (Some(key), Value::Object(map)) = (key, &mut out) {
                map.insert("key".into(), serde_json::to_value(key)?);
            }
            Ok(out)
        }
        Admin::RotateSigningKey => {
            let (kid, previous) = service.rotate_signing_key().await.map_err(explain)?;
            Ok(json!({"kid": kid, "previousKid": previous}))
        }
    }
}

fn parse_org(raw: &str) -> anyhow::Result<Id> {
    Id::parse(raw).with_context(|| format!("--org {raw:?} is not an organization id"))
}

/// Service errors read as sentences at the command line.
fn explain(err: ServiceError) -> anyhow::Error {
    match err {
        ServiceError::Invalid { field, detail } => anyhow::anyhow!("{field}: {detail}"),
        ServiceError::NotFound(what) => anyhow::anyhow!("{what} not found"),
        other => anyhow::Error::new(other),
    }
}
