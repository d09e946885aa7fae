//! Running a node: storage, background work, the HTTP listener, and a
//! graceful stop.

pub mod listener;
pub mod tls;

use anyhow::Context;
use tokio::net::TcpListener;

use self::listener::{ConnectionLimits, Https};
use self::tls::Tls;
use crate::config::Settings;
use crate::http::{AppState, Pages};
use crate::service::Service;

/// Storage and the service over it, with the secret key checked against the
/// database and anything an older version left unsealed sealed.
pub async fn open_service(settings: &Settings) -> anyhow::Result<Service> {
    crate::files::prepare_data_dir(&settings.data_dir)?;
    let sealing = crate::files::load_secret_key(&settings.secret_key)?;
    let service = Service::open(&settings.database, settings.limits.clone(), sealing).await?;
    if let Err(e) = service.adopt_secret_key().await {
        service.close().await;
        let source = match &settings.secret_key {
            crate::config::SecretKeySource::File { path, .. } => format!("the secret key file {}", path.display()),
            crate::config::SecretKeySource::Value(_) => "KEYWARD_SECRET_KEY".to_owned(),
        };
        return Err(anyhow::Error::new(e).context(format!("checking {source} against the database")));
    }
    Ok(service)
}

pub async fn serve(mut settings: Settings) -> anyhow::Result<()> {
    // Before anything is opened: a certificate that cannot be served stops
    // the start here, with the file named.
    let tls = settings.tls.as_ref().map(Tls::load).transpose()?.map(std::sync::Arc::new);
    if let Some(tls) = &tls {
        tls.clone().spawn_reloads().context("listening for SIGHUP")?;
    } else {
        ignore_hangups().context("listening for SIGHUP")?;
    }
    let service = open_service(&settings).await?;
    service.spawn_background().await;
    let listener =
        TcpListener::bind(settings.listen).await.with_context(|| format!("listening on {}", settings.listen))?;
    let listen = listener.local_addr().context("reading the address listened on")?;
    // Port 0 lets the system choose: the default public URL then names the
    // port chosen, so that links in mail and in the log lead back here.
    if settings.listen.port() == 0 {
        settings.public_url = settings.public_url.replace(&format!("://{}", settings.listen), &format!("://{listen}"));
    }
    // Only a serving node delivers mail; the outbox waits for one otherwise.
    let mail = crate::mail::MailConfig::from_settings(&settings).context("configuring mail")?;
    crate::mail::spawn(service.clone(), mail);
    // Likewise webhook deliveries: queued with each change, sent from here.
    crate::webhooks::spawn(service.clone());
    announce_first_run(&service, &settings.public_url).await?;
    // The last line before connections are taken: whoever waits for a
    // node to start can wait for this one, and read the address in it.
    tracing::info!(
        %listen,
        tls = tls.is_some(),
        public_url = %settings.public_url,
        database = %crate::redact::url(&settings.database),
        "keyward is serving"
    );
    let leak_reports = settings
        .leak_report_keys
        .clone()
        .map(|keys| crate::http::api::leaks::LeakReports { keys, action: settings.leak_action });
    let mut state = AppState::new(service.clone(), &settings.public_url)
        .with_trusted_proxies(&settings.trusted_proxies)
        .with_leak_reports(leak_reports);
    // Browsers reach a TLS listener over https whatever the public URL says.
    state.secure_cookies |= tls.is_some();
    let app = app(state);
    let limits = ConnectionLimits {
        header_read_timeout: settings.header_read_timeout,
        max_connections: settings.max_connections,
        shutdown_timeout: settings.shutdown_timeout,
    };
    let https = tls.as_ref().map(|tls| Https::new(tls.acceptor(), limits.header_read_timeout));
    listener::serve(listener, app, &limits, https, service.metrics().clone(), shutdown_signal()).await;
    if let Err(e) = service.flush_usage().await {
        tracing::warn!(error = %e, "could not record the last key uses before stopping");
    }
    service.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The HTTP application: the API with the web app's pages beside it.
pub fn app(state: AppState) -> axum::Router {
    crate::http::router(state, Pages { routes: crate::web::routes(), not_found: crate::web::not_found })
}

/// While nobody can log in, logs a fresh one-time link that creates the
/// first organization and its admin (the only place the link appears).
async fn announce_first_run(service: &Service, public_url: &str) -> anyhow::Result<()> {
    if let Some(token) = service.first_run_token().await.context("preparing the first-run setup link")? {
        let link = format!("{}/setup?token={}", public_url.trim_end_matches('/'), token.expose());
        tracing::info!(
            %link,
            valid_hours = crate::service::setup::SETUP_TOKEN_LIFETIME.as_secs() / 3600,
            "no users yet: open this one-time link to create the first organization and admin"
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("stopping: finishing requests in flight");
}

/// Without TLS there is nothing to reload: SIGHUP (`systemctl reload`) is
/// logged and otherwise ignored rather than ending the process.
fn ignore_hangups() -> std::io::Result<()> {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: nothing to reload without --tls-cert");
        }
    });
    Ok(())
}
