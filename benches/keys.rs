//! The key check's parts, and the whole check through the service layer:
//! `cargo bench --bench keys`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward::domain::{Name, Role, SealingKey, Secret};
use keyward::http::auth::parse_authorization;
use keyward::service::accounts::NewAccount;
use keyward::service::auth::Credential;
use keyward::service::keys::{Lifetime, NewKey};
use keyward::service::{Limits, Principal, Service};
use keyward::store::Store;

fn key_format(c: &mut Criterion) {
    let secret = Secret::mint().expect("os randomness");
    let raw = secret.expose().to_owned();
    let header = format!("Bearer {raw}");
    let other = Secret::mint().expect("os randomness").hash();
    c.bench_function("secret/mint", |b| b.iter(|| Secret::mint().expect("os randomness")));
    c.bench_function("secret/parse", |b| b.iter(|| Secret::parse(black_box(&raw)).expect("valid")));
    c.bench_function("secret/sha256", |b| b.iter(|| black_box(&secret).hash()));
    let hash = secret.hash();
    c.bench_function("secret/constant_time_compare", |b| b.iter(|| black_box(&hash).matches(black_box(&other))));
    c.bench_function("authorization/parse_bearer", |b| {
        b.iter(|| parse_authorization(black_box(&header)).expect("valid"))
    });
}

/// The check as a request makes it: parse, hash, find, judge. "cached" is the
/// steady state; "uncached" starts each time from an empty cache and so
/// includes the indexed SQLite lookup.
fn authenticate(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (service, minted) = rt.block_on(async {
        let store =
            Store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.expect("store");
        store.migrate().await.expect("migrate");
        let service = Service::new(store, Limits::default(), SealingKey::generate().expect("randomness"));
        service.adopt_secret_key().await.expect("secret key");
        let org = service.create_org(Name::parse("bench").expect("name")).await.expect("org");
        let by = Principal::operator(org.id.clone());
        // A store of realistic size, so that the lookup is not into an empty index.
        let mut last = None;
        for i in 0..1_000 {
            let account = service
                .create_account(
                    &by,
                    NewAccount {
                        name: Name::parse(&format!("sa-{i}")).expect("name"),
                        // Basic, so that the last one's key can buy a token.
                        enable_basic_auth: true,
                        role: Role::Viewer,
                        email: None,
                        meta: None,
                    },
                )
                .await
                .expect("account");
            last = Some(
                service
                    .create_key(
                        &by,
                        &account.account.id,
                        NewKey { name: None, lifetime: Lifetime::Unlimited, narrowing: Default::default() },
                    )
                    .await
                    .expect("key"),
            );
        }
        (service, last.expect("a key"))
    });
    let secret = minted.secret;
    let credential = Credential::Key(Secret::parse(secret.expose()).expect("valid"));
    c.bench_function("authenticate/cached", |b| {
        b.to_async(&rt).iter(|| async { service.authenticate(black_box(&credential)).await.expect("authenticates") })
    });
    c.bench_function("authenticate/uncached_sqlite_lookup", |b| {
        b.to_async(&rt).iter(|| async {
            service.credentials_changed();
            service.authenticate(black_box(&credential)).await.expect("authenticates")
        })
    });
    let unknown = Credential::Key(Secret::mint().expect("os randomness"));
    c.bench_function("authenticate/unknown_key_lookup", |b| {
        b.to_async(&rt).iter(|| async {
            service.credentials_changed();
            service.authenticate(black_box(&unknown)).await.is_err()
        })
    });
    c.bench_function("authenticate/unknown_key_remembered", |b| {
        b.to_async(&rt).iter(|| async { service.authenticate(black_box(&unknown)).await.is_err() })
    });

    // An access token of that key, used again: found by its SHA-256, no
    // signature check, no storage read.
    let issuer = "https://keyward.example";
    let basic =
        Credential::Basic { key_id: minted.key.id.to_string(), secret: Secret::parse(secret.expose()).expect("valid") };
    let token = rt.block_on(service.exchange_client_credentials(&basic, issuer, None)).expect("a token").token;
    c.bench_function("authenticate/cached_access_token", |b| {
        b.to_async(&rt)
            .iter(|| async { service.verify_access_token(black_box(&token), issuer).await.expect("authenticates") })
    });
}

criterion_group!(benches, key_format, authenticate);
criterion_main!(benches);
