//! The storage contract: what the service layer relies on from storage,
//! checked the same way on SQLite and on PostgreSQL.

mod support;

use keyward::domain::audit::{Action, Outcome, TargetKind};
use keyward::domain::entity::{ActionFilter, ApiKey, AuditEvent, AuditFilter, Member, Org, ServiceAccount, User};
use keyward::domain::{ActorKind, CreatedBy, Email, Id, LinkPurpose, Name, Role, Secret, Token};
use keyward::store::{
    Store, StoreError, accounts, audit, credential_changes, invitations, keys, orgs, sessions, users,
};
use support::postgres::{FreshDb, server_url};

/// A migrated store and whatever keeps it alive.
struct Engine {
    store: Store,
    _db: Option<FreshDb>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Option<Engine> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        Store::connect(&format!("sqlite://{}", dir.path().join("contract.db").display())).await.expect("sqlite");
    store.migrate().await.expect("migrate");
    Some(Engine { store, _db: None, _dir: Some(dir) })
}

async fn postgres() -> Option<Engine> {
    let db = FreshDb::migrated(&server_url()?).await;
    let store = Store::connect(&db.url).await.expect("postgres");
    store.migrate().await.expect("migrate");
    Some(Engine { store, _db: Some(db), _dir: None })
}

macro_rules! contract {
    ($($check:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test] async fn $check() { if let Some(e) = super::sqlite().await { super::$check(&e.store).await } })*
        }
        mod on_postgres {
            $(#[tokio::test] async fn $check() { if let Some(e) = super::postgres().await { super::$check(&e.store).await } })*
        }
    };
}

contract!(
    account_pages_are_read_in_id_order_from_an_index,
    accounts_round_trip_every_field,
    account_names_are_unique_per_org_ignoring_case,
    accounts_of_another_org_are_invisible,
    listing_pages_in_creation_order_and_filters_literally,
    deleting_an_account_deletes_its_keys,
    credentials_are_found_by_hash_only,
    live_keys_exclude_expired_ones,
    keys_of_many_accounts_come_in_one_query,
    last_use_only_moves_forward,
    audit_reads_newest_first_per_org,
    the_change_feed_numbers_changes_in_order_without_gaps,
    one_time_tokens_work_once_and_not_after_expiry,
    sessions_end_at_expiry_and_on_delete,
    emails_are_unique_ignoring_case,
    adding_a_known_address_keeps_its_account,
    invitation_links_die_with_their_membership,
    invitation_links_never_replace_a_password,
    accept_links_work_once_while_their_membership_is_pending,
    sessions_see_only_memberships_taken_up,
    a_rolled_back_transaction_leaves_nothing,
);

fn name_of(s: &str) -> Name {
    Name::parse(s).expect("a name")
}

fn email_of(s: &str) -> Email {
    Email::parse(s).expect("an address")
}

async fn org(store: &Store) -> Id {
    let record = Org { id: Id::generate(), name: name_of("Acme"), created: 1_700_000_000 };
    let mut tx = store.begin().await.expect("tx");
    orgs::insert(tx.conn(), &record).await.expect("org");
    tx.commit().await.expect("commit");
    record.id
}

fn account(org: &Id, name: &str) -> ServiceAccount {
    ServiceAccount {
        id: Id::generate(),
        org_id: org.clone(),
        name: name_of(name),
        role: Role::Editor,
        enable_basic_auth: true,
        email: Some(email_of("ops@example.com")),
        email_confirmed: false,
        disabled: false,
        created: 1_700_000_001,
        last_used: None,
        deleted: None,
        meta: None,
    }
}

fn key(account: &Id, expires: Option<i64>) -> ApiKey {
    ApiKey {
        id: Id::generate(),
        account_id: account.clone(),
        name: Some(name_of("ci")),
        created: 1_700_000_002,
        created_by: CreatedBy { kind: ActorKind::Operator, id: None },
        expires,
        last_used: None,
        disabled: false,
        narrowing: Default::default(),
    }
}

async fn insert_account(store: &Store, a: &ServiceAccount) -> Result<(), StoreError> {
    let mut tx = store.begin().await.expect("tx");
    accounts::insert(tx.conn(), a).await?;
    tx.commit().await
}

async fn insert_key(store: &Store, k: &ApiKey) -> Secret {
    let secret = Secret::mint().expect("randomness");
    let mut tx = store.begin().await.expect("tx");
    keys::insert(tx.conn(), k, &secret.hash(), "v1.sealed-elsewhere").await.expect("key");
    tx.commit().await.expect("commit");
    secret
}

/// A page of accounts must not read and sort the whole organization: on
/// SQLite, whose plans are easy to read, the live and the deleted listing
/// each walk their own index in id order. (PostgreSQL's planner picks by
/// table statistics; the same indexes exist there.)
async fn account_pages_are_read_in_id_order_from_an_index(store: &Store) {
    if store.engine() != keyward::store::Engine::Sqlite {
        return;
    }
    let mut conn = store.read().await.expect("conn");
    for state in ["deleted IS NULL", "deleted IS NOT NULL"] {
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT id FROM service_accounts WHERE org_id = $1 AND id > $2 AND {state} \
             AND name_folded LIKE $3 ESCAPE '\\' ORDER BY id LIMIT $4"
        );
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&sql)
            .bind("org")
            .bind("")
            .bind("%")
            .bind(200_i64)
            .fetch_all(&mut *conn)
            .await
            .expect("plan");
        let plan: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
        assert!(plan.iter().any(|step| step.contains("_by_id (org_id=? AND id>?)")), "{state}: {plan:?}");
        assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "{state} sorts: {plan:?}");
    }
}

async fn accounts_round_trip_every_field(store: &Store) {
    let org = org(store).await;
    let mut a = account(&org, "John Doe");
    insert_account(store, &a).await.expect("insert");
    let mut conn = store.read().await.expect("conn");
    let back = accounts::get(&mut conn, &org, &a.id).await.expect("get").expect("found");
    assert_eq!(format!("{back:?}"), format!("{a:?}"));
    a.name = name_of("Jane");
    a.role = Role::Admin;
    a.enable_basic_auth = false;
    a.disabled = true;
    a.email_confirmed = true;
    let mut tx = store.begin().await.expect("tx");
    accounts::update(tx.conn(), &a).await.expect("update");
    tx.commit().await.expect("commit");
    let back = accounts::get(&mut conn, &org, &a.id).await.expect("get").expect("found");
    assert_eq!(format!("{back:?}"), format!("{a:?}"));
}

async fn account_names_are_unique_per_org_ignoring_case(store: &Store) {
    let (one, two) = (org(store).await, org(store).await);
    insert_account(store, &account(&one, "Deploy Bot")).await.expect("first");
    let clash = insert_account(store, &account(&one, "deploy BOT")).await;
    assert!(matches!(clash, Err(StoreError::Conflict("name"))), "{clash:?}");
    insert_account(store, &account(&two, "Deploy Bot")).await.expect("same name, other org");
}

async fn accounts_of_another_org_are_invisible(store: &Store) {
    let (mine, theirs) = (org(store).await, org(store).await);
    let a = account(&theirs, "theirs");
    insert_account(store, &a).await.expect("insert");
    let mut conn = store.read().await.expect("conn");
    assert!(accounts::get(&mut conn, &mine, &a.id).await.expect("get").is_none());
    assert!(accounts::list(&mut conn, &mine, None, 10, None, false).await.expect("list").is_empty());
    drop(conn);
    let mut tx = store.begin().await.expect("tx");
    assert!(!accounts::soft_delete(tx.conn(), &mine, &a.id, 1).await.expect("delete"));
    tx.commit().await.expect("commit");
}

async fn listing_pages_in_creation_order_and_filters_literally(store: &Store) {
    let org = org(store).await;
    let names = ["alpha", "Beta", "50%_off", "gamma", "50 percent"];
    let mut made = Vec::new();
    for name in names {
        let a = account(&org, name);
        insert_account(store, &a).await.expect("insert");
        made.push(a.id);
    }
    let mut conn = store.read().await.expect("conn");
    let first = accounts::list(&mut conn, &org, None, 2, None, false).await.expect("page");
    let rest = accounts::list(&mut conn, &org, Some(&first[1].id), 10, None, false).await.expect("page");
    let all: Vec<Id> = first.iter().chain(&rest).map(|a| a.id.clone()).collect();
    assert_eq!(all, made);
    let beta = accounts::list(&mut conn, &org, None, 10, Some("BET"), false).await.expect("filter");
    assert_eq!(beta.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Beta"]);
    let literal = accounts::list(&mut conn, &org, None, 10, Some("50%_"), false).await.expect("filter");
    assert_eq!(literal.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["50%_off"]);
}

async fn deleting_an_account_deletes_its_keys(store: &Store) {
    let org = org(store).await;
    let a = account(&org, "doomed");
    insert_account(store, &a).await.expect("insert");
    let secret = insert_key(store, &key(&a.id, None)).await;
    let mut tx = store.begin().await.expect("tx");
    assert!(accounts::soft_delete(tx.conn(), &org, &a.id, 100).await.expect("delete"));
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    // Deleted: its keys no longer authenticate, but they are kept.
    assert!(keys::find_credential(&mut conn, &secret.hash()).await.expect("lookup").is_none());
    assert!(accounts::get(&mut conn, &org, &a.id).await.expect("get").is_none());
    assert_eq!(keys::list_for_account(&mut conn, &a.id).await.expect("list").len(), 1);
    assert_eq!(accounts::list(&mut conn, &org, None, 10, None, true).await.expect("deleted").len(), 1);
    drop(conn);
    // Not yet due: the purge leaves it.
    let mut tx = store.begin().await.expect("tx");
    assert!(!accounts::purge(tx.conn(), &a.id, 100).await.expect("purge"));
    assert!(accounts::purge(tx.conn(), &a.id, 101).await.expect("purge"));
    assert!(!accounts::purge(tx.conn(), &a.id, 101).await.expect("purge again"));
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    assert!(keys::list_for_account(&mut conn, &a.id).await.expect("list").is_empty());
}

async fn credentials_are_found_by_hash_only(store: &Store) {
    let org = org(store).await;
    let a = account(&org, "worker");
    insert_account(store, &a).await.expect("insert");
    let k = key(&a.id, Some(1_900_000_000));
    let secret = insert_key(store, &k).await;
    let mut conn = store.read().await.expect("conn");
    let found = keys::find_credential(&mut conn, &secret.hash()).await.expect("lookup").expect("found");
    assert_eq!((found.key_id, found.account_id, found.org_id), (k.id.clone(), a.id.clone(), org));
    assert_eq!((found.role, found.enable_basic_auth, found.expires), (Role::Editor, true, Some(1_900_000_000)));
    assert!(!found.key_disabled && !found.account_disabled);
    assert_eq!(found.secret_hash, secret.hash().to_hex());
    let other = Secret::mint().expect("randomness");
    assert!(keys::find_credential(&mut conn, &other.hash()).await.expect("lookup").is_none());
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT secret_hash FROM api_keys").fetch_all(&mut *conn).await.expect("hashes");
    assert!(stored.iter().all(|h| !h.contains(&secret.expose()[3..])), "a secret is stored");
}

async fn live_keys_exclude_expired_ones(store: &Store) {
    let org = org(store).await;
    let a = account(&org, "rotating");
    insert_account(store, &a).await.expect("insert");
    for expires in [None, Some(100), Some(200), Some(300)] {
        insert_key(store, &key(&a.id, expires)).await;
    }
    let mut conn = store.read().await.expect("conn");
    assert_eq!(keys::count_live(&mut conn, &a.id, 150).await.expect("count"), 3);
    assert_eq!(keys::count_live(&mut conn, &a.id, 300).await.expect("count"), 1);
}

async fn keys_of_many_accounts_come_in_one_query(store: &Store) {
    let org = org(store).await;
    let mut made = Vec::new();
    for i in 0..60 {
        let a = account(&org, &format!("sa-{i}"));
        insert_account(store, &a).await.expect("insert");
        insert_key(store, &key(&a.id, None)).await;
        made.push(a);
    }
    let mut conn = store.read().await.expect("conn");
    let all = keys::list_for_accounts(&mut conn, &made).await.expect("keys");
    assert_eq!(all.len(), 60);
    assert!(keys::list_for_accounts(&mut conn, &[]).await.expect("none").is_empty());
}

async fn last_use_only_moves_forward(store: &Store) {
    let org = org(store).await;
    let a = account(&org, "busy");
    insert_account(store, &a).await.expect("insert");
    let k = key(&a.id, None);
    insert_key(store, &k).await;
    let mut tx = store.begin().await.expect("tx");
    keys::record_use(tx.conn(), &k.id, 2_000).await.expect("use");
    keys::record_use(tx.conn(), &k.id, 1_000).await.expect("older use");
    accounts::record_use(tx.conn(), &a.id, 2_000).await.expect("use");
    accounts::record_use(tx.conn(), &a.id, 1_500).await.expect("older use");
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    assert_eq!(keys::get(&mut conn, &a.id, &k.id).await.expect("get").expect("found").last_used, Some(2_000));
    assert_eq!(accounts::get(&mut conn, &org, &a.id).await.expect("get").expect("found").last_used, Some(2_000));
}

async fn audit_reads_newest_first_per_org(store: &Store) {
    let (org, other) = (org(store).await, org(store).await);
    let actors = [Id::generate(), Id::generate()];
    let targets: Vec<Id> = (0..4).map(|_| Id::generate()).collect();
    let key_used = Id::generate();
    let actions = [Action::KeyCreate, Action::KeyDelete, Action::KeyCreate, Action::AccountCreate];
    let mut written = Vec::new();
    let mut tx = store.begin().await.expect("tx");
    for (i, o) in [&org, &org, &other, &org].into_iter().enumerate() {
        let e = AuditEvent {
            id: Id::generate(),
            org_id: Some(o.clone()),
            at: 1_700_000_000 + i as i64,
            actor_kind: ActorKind::ServiceAccount,
            actor_id: Some(actors[i % 2].clone()),
            key_id: Some(key_used.clone()),
            action: actions[i],
            target_kind: Some(if i == 3 { TargetKind::ServiceAccount } else { TargetKind::Key }),
            target_id: Some(targets[i].clone()),
            client_ip: Some("127.0.0.1".into()),
            outcome: if i == 1 { Outcome::Failure } else { Outcome::Success },
            detail: Some(format!("{{\"n\":{i}}}")),
        };
        audit::insert(tx.conn(), &e).await.expect("insert");
        written.push(e);
    }
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    let all = AuditFilter::default();
    let page = audit::list(&mut conn, &org, &all, None, 2).await.expect("page");
    assert_eq!(page.iter().map(|e| e.action).collect::<Vec<_>>(), [Action::AccountCreate, Action::KeyDelete]);
    let next = audit::list(&mut conn, &org, &all, Some(&page[1].id), 2).await.expect("page");
    assert_eq!(next.iter().map(|e| e.action).collect::<Vec<_>>(), [Action::KeyCreate]);
    // Every word reads back as it was written.
    let read = |e: &AuditEvent| {
        format!(
            "{:?} {:?} {} {:?} {:?} {:?} {} {:?} {:?} {:?} {} {:?}",
            e.id,
            e.org_id,
            e.at,
            e.actor_kind,
            e.actor_id,
            e.key_id,
            e.action,
            e.target_kind,
            e.target_id,
            e.client_ip,
            e.outcome,
            e.detail
        )
    };
    assert_eq!(read(&page[1]), read(&written[1]));
    assert_eq!(read(&page[0]), read(&written[3]));

    // Filters, alone and together, on the organization's events only.
    let actions = async |conn: &mut keyward::store::Conn, filter: AuditFilter| {
        let rows = audit::list(conn, &org, &filter, None, 10).await.expect("filtered");
        rows.into_iter().map(|e| e.action).collect::<Vec<_>>()
    };
    let by_actor = AuditFilter { actor_id: Some(actors[1].to_string()), ..Default::default() };
    assert_eq!(actions(&mut conn, by_actor).await, [Action::AccountCreate, Action::KeyDelete]);
    let family = AuditFilter { action: Some(ActionFilter::Prefix("key.".into())), ..Default::default() };
    assert_eq!(actions(&mut conn, family).await, [Action::KeyDelete, Action::KeyCreate]);
    let exact = AuditFilter { action: Some(ActionFilter::Exactly("key.create".into())), ..Default::default() };
    assert_eq!(actions(&mut conn, exact).await, [Action::KeyCreate]);
    let together = AuditFilter {
        actor_id: Some(actors[0].to_string()),
        action: Some(ActionFilter::Prefix("key.".into())),
        target_id: Some(targets[0].to_string()),
    };
    assert_eq!(actions(&mut conn, together).await, [Action::KeyCreate]);
    // Another organization's event (the third) is never found from this one.
    let elsewhere = AuditFilter { target_id: Some(targets[2].to_string()), ..Default::default() };
    assert!(actions(&mut conn, elsewhere).await.is_empty());
    drop(conn);

    // A row whose action the trail has no word for is an error when read,
    // never a made-up word.
    let mut tx = store.begin().await.expect("tx");
    sqlx::query(
        "INSERT INTO audit_events (id, org_id, at, actor_kind, action, outcome) \
         VALUES ($1, $2, 1800000000, 'operator', 'key.exploded', 'success')",
    )
    .bind(Id::generate().as_str())
    .bind(org.as_str())
    .execute(tx.conn())
    .await
    .expect("insert");
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    let unknown = audit::list(&mut conn, &org, &all, None, 10).await;
    assert!(format!("{:?}", unknown.expect_err("an unknown action")).contains("key.exploded"));
}

async fn the_change_feed_numbers_changes_in_order_without_gaps(store: &Store) {
    use credential_changes::CredentialChange;
    let mut conn = store.read().await.expect("conn");
    let before = credential_changes::current(&mut conn).await.expect("revision");
    drop(conn);
    let key = Id::generate();
    let account = Id::generate();
    let written = [
        CredentialChange::Key(key.clone()),
        CredentialChange::Account(account.clone()),
        CredentialChange::Restored(account.clone()),
        CredentialChange::Everything,
    ];
    for (i, change) in written.iter().enumerate() {
        let mut tx = store.begin().await.expect("tx");
        let n = credential_changes::record(tx.conn(), change, 1_000 + i as i64).await.expect("record");
        assert_eq!(n, before + 1 + i as i64, "numbered by the revision it bumped");
        tx.commit().await.expect("commit");
    }
    // A change rolled back takes its number with it: the next one reuses it.
    let mut tx = store.begin().await.expect("tx");
    credential_changes::record(tx.conn(), &CredentialChange::Key(Id::generate()), 2_000).await.expect("record");
    drop(tx);
    let mut conn = store.read().await.expect("conn");
    assert_eq!(credential_changes::current(&mut conn).await.expect("revision"), before + 4);
    let read = credential_changes::since(&mut conn, before, 100).await.expect("since");
    let numbers: Vec<i64> = read.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (before + 1..=before + 4).collect::<Vec<_>>());
    assert_eq!(read.into_iter().map(|(_, c)| c).collect::<Vec<_>>(), written);
    assert_eq!(credential_changes::since(&mut conn, before + 2, 1).await.expect("since").len(), 1, "limited");
    drop(conn);
    // Pruning drops what is older than its bound, and nothing newer.
    let mut tx = store.begin().await.expect("tx");
    assert_eq!(credential_changes::prune(tx.conn(), 1_002).await.expect("prune"), 2);
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    let left: Vec<i64> =
        credential_changes::since(&mut conn, before, 100).await.expect("since").iter().map(|(n, _)| *n).collect();
    assert_eq!(left, [before + 3, before + 4]);
}

async fn one_time_tokens_work_once_and_not_after_expiry(store: &Store) {
    let (live, stale) = (Token::generate().expect("token"), Token::generate().expect("token"));
    let mut tx = store.begin().await.expect("tx");
    let setup = LinkPurpose::Setup;
    sessions::insert_token(tx.conn(), &live.hash_hex(), setup, None, 1_000, 2_000).await.expect("token");
    sessions::insert_token(tx.conn(), &stale.hash_hex(), setup, None, 1_000, 1_500).await.expect("token");
    assert_eq!(
        sessions::consume_token(tx.conn(), &live.hash_hex(), LinkPurpose::Password, 1_100)
            .await
            .expect("wrong purpose"),
        None
    );
    assert_eq!(
        sessions::consume_token(tx.conn(), &live.hash_hex(), setup, 1_100).await.expect("first use"),
        Some(None)
    );
    assert_eq!(sessions::consume_token(tx.conn(), &live.hash_hex(), setup, 1_101).await.expect("second use"), None);
    assert_eq!(sessions::consume_token(tx.conn(), &stale.hash_hex(), setup, 1_600).await.expect("expired"), None);
    tx.commit().await.expect("commit");
}

async fn sessions_end_at_expiry_and_on_delete(store: &Store) {
    let user = User { id: Id::generate(), email: email_of("ada@example.com"), password_hash: None, created: 1 };
    let token = Token::generate().expect("token");
    let mut tx = store.begin().await.expect("tx");
    users::insert(tx.conn(), &user).await.expect("user");
    sessions::insert(tx.conn(), &token.hash_hex(), &user.id, 1_000, 2_000).await.expect("session");
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    assert_eq!(sessions::user_of(&mut conn, &token.hash_hex(), 1_999).await.expect("live"), Some(user.id.clone()));
    assert_eq!(sessions::user_of(&mut conn, &token.hash_hex(), 2_000).await.expect("expired"), None);
    drop(conn);
    let mut tx = store.begin().await.expect("tx");
    sessions::delete(tx.conn(), &token.hash_hex()).await.expect("delete");
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    assert_eq!(sessions::user_of(&mut conn, &token.hash_hex(), 1_500).await.expect("deleted"), None);
}

async fn emails_are_unique_ignoring_case(store: &Store) {
    let mut tx = store.begin().await.expect("tx");
    users::insert(
        tx.conn(),
        &User { id: Id::generate(), email: email_of("Ada@Example.com"), password_hash: None, created: 1 },
    )
    .await
    .expect("first");
    let clash = users::insert(
        tx.conn(),
        &User { id: Id::generate(), email: email_of("ada@example.COM"), password_hash: None, created: 1 },
    )
    .await;
    assert!(matches!(clash, Err(StoreError::Conflict("email"))), "{clash:?}");
}

async fn adding_a_known_address_keeps_its_account(store: &Store) {
    let first = User { id: Id::generate(), email: email_of("Ada@Example.com"), password_hash: None, created: 1 };
    let second = User { id: Id::generate(), email: email_of("ada@example.com"), password_hash: None, created: 2 };
    let mut tx = store.begin().await.expect("tx");
    users::insert_if_absent(tx.conn(), &first).await.expect("first");
    users::insert_if_absent(tx.conn(), &second).await.expect("a known address is no error");
    let found = users::find_by_email(tx.conn(), &email_of("ADA@example.com").folded())
        .await
        .expect("find")
        .expect("the account");
    assert_eq!((found.id, found.email), (first.id, first.email));
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    assert_eq!(users::count(&mut conn).await.expect("count"), 1);
}

/// A person and their membership of a new organization: (org, member).
async fn member(store: &Store, email: &str, password_hash: Option<&str>) -> (Id, Member) {
    let org = org(store).await;
    let user =
        User { id: Id::generate(), email: email_of(email), password_hash: password_hash.map(Into::into), created: 1 };
    let m = Member {
        id: Id::generate(),
        user_id: user.id.clone(),
        email: email_of(email),
        org_id: org.clone(),
        role: Role::Viewer,
        created: 1,
        accepted: None,
    };
    let mut tx = store.begin().await.expect("tx");
    users::insert(tx.conn(), &user).await.expect("user");
    users::add_membership(tx.conn(), &m).await.expect("membership");
    tx.commit().await.expect("commit");
    (org, m)
}

async fn invitation_links_die_with_their_membership(store: &Store) {
    let (org, m) = member(store, "grace@example.com", None).await;
    let (kept, used, voided) =
        (Token::generate().expect("token"), Token::generate().expect("token"), Token::generate().expect("token"));
    let mut tx = store.begin().await.expect("tx");
    for t in [&kept, &used, &voided] {
        invitations::insert(tx.conn(), &t.hash_hex(), LinkPurpose::Password, &org, &m.id, 1_000, 2_000)
            .await
            .expect("link");
    }
    let found = invitations::find_live(tx.conn(), &kept.hash_hex(), LinkPurpose::Password, 1_500).await.expect("live");
    assert_eq!(found, Some((org.clone(), m.id.clone())));
    assert_eq!(
        invitations::find_live(tx.conn(), &kept.hash_hex(), LinkPurpose::Password, 2_000).await.expect("expired"),
        None
    );
    assert!(invitations::use_link(tx.conn(), &used.hash_hex(), LinkPurpose::Password, 1_500).await.expect("first use"));
    assert!(
        !invitations::use_link(tx.conn(), &used.hash_hex(), LinkPurpose::Password, 1_501).await.expect("second use")
    );
    assert_eq!(
        invitations::find_live(tx.conn(), &used.hash_hex(), LinkPurpose::Password, 1_502).await.expect("used"),
        None
    );
    tx.commit().await.expect("commit");

    // Removing the membership takes every link it sent with it; the person,
    // in no organization any more, goes too.
    let mut tx = store.begin().await.expect("tx");
    assert!(users::remove_membership(tx.conn(), &m).await.expect("remove"), "the person is gone with it");
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    for t in [&kept, &voided] {
        assert_eq!(
            invitations::find_live(&mut conn, &t.hash_hex(), LinkPurpose::Password, 1_500).await.expect("voided"),
            None
        );
    }
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invitations WHERE org_id = $1")
        .bind(org.as_str())
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(left, 0, "links outlived their membership");
}

async fn invitation_links_never_replace_a_password(store: &Store) {
    let (org, m) = member(store, "hopper@example.com", Some("$argon2id$chosen")).await;
    let link = Token::generate().expect("token");
    let mut tx = store.begin().await.expect("tx");
    invitations::insert(tx.conn(), &link.hash_hex(), LinkPurpose::Password, &org, &m.id, 1_000, 2_000)
        .await
        .expect("link");
    assert_eq!(
        invitations::find_live(tx.conn(), &link.hash_hex(), LinkPurpose::Password, 1_500).await.expect("find"),
        None
    );
    assert!(!users::set_first_password(tx.conn(), &m.user_id, "$argon2id$other").await.expect("set"));
    let user = users::get(tx.conn(), &m.user_id).await.expect("get").expect("user");
    assert_eq!(user.password_hash.as_deref(), Some("$argon2id$chosen"));
    tx.commit().await.expect("commit");
}

/// An accept link is found only for its own purpose, while its membership is
/// pending, once; taking the membership up in the app retires it too.
async fn accept_links_work_once_while_their_membership_is_pending(store: &Store) {
    let (org, m) = member(store, "lovelace@example.com", Some("$argon2id$chosen")).await;
    let (link, other) = (Token::generate().expect("token"), Token::generate().expect("token"));
    let mut tx = store.begin().await.expect("tx");
    for t in [&link, &other] {
        invitations::insert(tx.conn(), &t.hash_hex(), LinkPurpose::Accept, &org, &m.id, 1_000, 2_000)
            .await
            .expect("link");
    }
    let hash = link.hash_hex();
    assert_eq!(
        invitations::find_live(tx.conn(), &hash, LinkPurpose::Accept, 1_500).await.expect("live"),
        Some((org.clone(), m.id.clone()))
    );
    for wrong in [LinkPurpose::Password, LinkPurpose::Setup] {
        assert_eq!(invitations::find_live(tx.conn(), &hash, wrong, 1_500).await.expect("find"), None, "{wrong:?}");
        assert!(!invitations::use_link(tx.conn(), &hash, wrong, 1_500).await.expect("use"), "{wrong:?}");
    }
    assert!(invitations::use_link(tx.conn(), &hash, LinkPurpose::Accept, 1_500).await.expect("first use"));
    assert!(!invitations::use_link(tx.conn(), &hash, LinkPurpose::Accept, 1_501).await.expect("replay"));
    assert_eq!(invitations::find_live(tx.conn(), &hash, LinkPurpose::Accept, 1_502).await.expect("used"), None);

    // Taken up (here as the app does): the other link dies with the wait.
    let other_hash = other.hash_hex();
    assert!(users::accept_pending(tx.conn(), &org, &m.id, 1_600).await.expect("accept"));
    assert!(!users::accept_pending(tx.conn(), &org, &m.id, 1_601).await.expect("twice"), "accepted twice");
    assert_eq!(invitations::find_live(tx.conn(), &other_hash, LinkPurpose::Accept, 1_602).await.expect("find"), None);
    invitations::retire_for_member(tx.conn(), &org, &m.id, 1_602).await.expect("retire");
    assert!(!invitations::use_link(tx.conn(), &other_hash, LinkPurpose::Accept, 1_603).await.expect("use"));
    tx.commit().await.expect("commit");
}

/// A person's sessions see the memberships they took up; the pending ones
/// are their invitations, and nothing else.
async fn sessions_see_only_memberships_taken_up(store: &Store) {
    let (joined, m) = member(store, "turing@example.com", Some("$argon2id$chosen")).await;
    let invited = org(store).await;
    let pending = Member { id: Id::generate(), org_id: invited.clone(), created: 5, ..m.clone() };
    let mut tx = store.begin().await.expect("tx");
    assert!(users::accept_pending(tx.conn(), &joined, &m.id, 2).await.expect("accept"));
    users::add_membership(tx.conn(), &pending).await.expect("pending membership");
    let orgs: Vec<Id> =
        users::memberships(tx.conn(), &m.user_id).await.expect("memberships").into_iter().map(|s| s.org_id).collect();
    assert_eq!(orgs, vec![joined.clone()], "a pending membership reached the session");
    let waiting = users::pending_invitations(tx.conn(), &m.user_id).await.expect("invitations");
    assert_eq!(waiting.len(), 1);
    assert_eq!((&waiting[0].org_id, &waiting[0].member_id, waiting[0].invited), (&invited, &pending.id, 5));
    let found = users::membership_of(tx.conn(), &invited, &m.user_id).await.expect("find").expect("membership");
    assert_eq!((found.id, found.accepted), (pending.id.clone(), None));
    assert!(users::accept_pending(tx.conn(), &invited, &pending.id, 6).await.expect("accept"));
    assert_eq!(users::memberships(tx.conn(), &m.user_id).await.expect("memberships").len(), 2);
    assert!(users::pending_invitations(tx.conn(), &m.user_id).await.expect("invitations").is_empty());
    tx.commit().await.expect("commit");
}

async fn a_rolled_back_transaction_leaves_nothing(store: &Store) {
    let org = org(store).await;
    let a = account(&org, "never");
    let mut tx = store.begin().await.expect("tx");
    accounts::insert(tx.conn(), &a).await.expect("insert");
    drop(tx);
    let mut conn = store.read().await.expect("conn");
    assert!(accounts::get(&mut conn, &org, &a.id).await.expect("get").is_none());
}
