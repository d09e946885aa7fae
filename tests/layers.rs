//! The layering of `docs/architecture.md`, held by reading the source: each
//! top-level module may use only the modules below it, so no cycle can form
//! and only the service layer reaches storage.
//!
//! The source is parsed (`syn`) and every path it names is followed to the
//! module that defines what it names, however it is spelled: `super::`,
//! `self::`, grouped imports and re-exports count for the module they reach,
//! and comments do not count at all.

#[path = "layers/modules.rs"]
mod modules;

use std::collections::BTreeMap;
use std::path::Path;

use modules::Crate;

/// Each module and what it may use (`crate::…`), lowest first.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("metrics", &[]),
    ("redact", &[]),
    ("html", &[]),
    ("files", &["domain"]),
    ("store", &["domain", "files", "redact"]),
    ("service", &["domain", "metrics", "redact", "store"]),
    ("config", &["domain", "files", "redact", "service"]),
    ("mail", &["config", "domain", "files", "html", "redact", "service"]),
    ("webhooks", &["domain", "service"]),
    ("http", &["domain", "html", "metrics", "service"]),
    ("web", &["domain", "html", "service"]),
    ("server", &["config", "domain", "files", "http", "mail", "metrics", "redact", "service", "web", "webhooks"]),
    ("cli", &["config", "domain", "files", "http", "server", "service"]),
];

/// The top-level module a module belongs to; `lib` for the crate root.
fn top(module: &[String]) -> &str {
    module.first().map_or("lib", String::as_str)
}

/// For each top-level module, the other top-level modules it uses, each with
/// one path that shows it and that path's file.
fn uses(krate: &Crate) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for used in &krate.uses {
        let Some(reached) = krate.reach(&used.module, &used.path) else { continue };
        let (from, to) = (top(&used.module), top(&reached));
        if from != to {
            let shown = format!("`{}` in src/{}", used.written(), used.file);
            uses.entry(from.to_owned()).or_default().entry(to.to_owned()).or_insert(shown);
        }
    }
    uses
}

/// Each use across the layering, as `{module} uses {module}: …`.
fn across_layers(krate: &Crate) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for module in krate.top_modules() {
        if !allowed.contains_key(module.as_str()) {
            wrong.push(format!("{module} is not in the table of layers"));
        }
    }
    for (module, used) in uses(krate) {
        // lib.rs only declares the modules.
        let Some(may) = allowed.get(module.as_str()) else { continue };
        for (other, shown) in used {
            if !may.contains(&other.as_str()) {
                wrong.push(format!("{module} uses {other}: {shown}"));
            }
        }
    }
    wrong
}

/// The top-level modules that use `store`.
fn reaching_storage(krate: &Crate) -> Vec<String> {
    uses(krate).into_iter().filter(|(_, used)| used.contains_key("store")).map(|(module, _)| module).collect()
}

/// `pub` functions of the service layer that hand out the store
/// (`Service::store` must stay crate-private).
fn store_made_public(krate: &Crate) -> Vec<String> {
    krate
        .public_fns
        .iter()
        .filter(|f| top(&f.module) == "service" && (f.name == "store" || f.name.ends_with("::store")))
        .map(|f| format!("pub fn {} in src/{}", f.name, f.file))
        .collect()
}

/// Store types the service layer hands out: named in what a `pub` item of
/// `service/` returns or holds. The store may go in (the service is built
/// from one), but none of its types, errors included, comes back out.
fn store_handed_out(krate: &Crate) -> Vec<String> {
    krate
        .uses
        .iter()
        .filter(|u| u.handed_out && top(&u.module) == "service")
        .filter(|u| krate.reach(&u.module, &u.path).is_some_and(|m| top(&m) == "store"))
        .map(|u| format!("service hands out store: `{}` in src/{}", u.written(), u.file))
        .collect()
}

/// The module of `service/` that `module` is part of (`keys` for
/// `service::keys` and anything inside it); `None` outside `service/` and
/// for `service` itself, whose `Service`, `ServiceError` and `Page` every
/// use case shares.
fn service_module(module: &[String]) -> Option<&str> {
    match module {
        [top, child, ..] if top == "service" => Some(child),
        _ => None,
    }
}

/// Circles among the modules of `service/`: groups of modules each of which
/// uses the others, directly or through the rest of the group, with the
/// uses that close it.
fn service_circles(krate: &Crate) -> Vec<String> {
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for used in &krate.uses {
        let Some(from) = service_module(&used.module) else { continue };
        let Some(reached) = krate.reach(&used.module, &used.path) else { continue };
        let Some(to) = service_module(&reached) else { continue };
        if from != to {
            let shown = format!("`{}` in src/{}", used.written(), used.file);
            edges.entry(from.to_owned()).or_default().entry(to.to_owned()).or_insert(shown);
        }
    }
    let reachable = |start: &String| {
        let mut seen: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        let mut next = vec![start.clone()];
        while let Some(at) = next.pop() {
            for to in edges.get(&at).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(to.clone()) {
                    next.push(to.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, _> = edges.keys().map(|m| (m, reachable(m))).collect();
    let mut grouped: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut circles = Vec::new();
    for (module, from_it) in &reach {
        if grouped.contains(*module) || !from_it.contains(*module) {
            continue;
        }
        let group: Vec<&String> =
            from_it.iter().filter(|m| reach.get(m).is_some_and(|r| r.contains(*module))).collect();
        let closing: Vec<String> = group
            .iter()
            .flat_map(|from| {
                edges[*from]
                    .iter()
                    .filter(|(to, _)| group.contains(to))
                    .map(move |(to, shown)| format!("  service::{from} uses service::{to}: {shown}"))
            })
            .collect();
        let names: Vec<&str> = group.iter().map(|m| m.as_str()).collect();
        circles.push(format!("service modules in a circle: {}\n{}", names.join(", "), closing.join("\n")));
        grouped.extend(group.into_iter().cloned());
    }
    circles
}

fn sources(src: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(src, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.strip_prefix(src).expect("under src").to_string_lossy().replace('\\', "/");
            out.insert(name, std::fs::read_to_string(&path).expect("read source"));
        }
    }
}

/// The real crate under `src/`.
fn the_crate() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    sources(&src, &src, &mut files);
    let krate = Crate::read(&files).unwrap_or_else(|e| panic!("src/ could not be read: {e}"));
    // main.rs is the binary's root, which may use everything; every other
    // file must be part of the library, or nothing here would look at it.
    let unread: Vec<&String> = files.keys().filter(|f| *f != "main.rs" && !krate.files.contains(*f)).collect();
    assert!(unread.is_empty(), "files no `mod` item reaches: {unread:?}");
    krate
}

#[test]
fn each_module_uses_only_the_layers_below_it() {
    let krate = the_crate();
    let uses = uses(&krate);
    assert!(
        uses.get("http").is_some_and(|u| u.contains_key("service"))
            && uses.get("service").is_some_and(|u| u.contains_key("store")),
        "the source was not read: {uses:?}"
    );
    let wrong = across_layers(&krate);
    assert!(wrong.is_empty(), "uses across the layering:\n{}", wrong.join("\n"));
}

#[test]
fn only_the_service_layer_reaches_storage() {
    let krate = the_crate();
    assert_eq!(reaching_storage(&krate), ["service"], "only service/ may use store/");
    assert_eq!(store_made_public(&krate), Vec::<String>::new(), "Service::store must stay crate-private");
}

#[test]
fn the_service_layer_hands_out_no_store_type() {
    let krate = the_crate();
    let found = store_handed_out(&krate);
    assert!(found.is_empty(), "store types past the service layer:\n{}", found.join("\n"));
}

#[test]
fn no_two_service_modules_use_each_other() {
    let krate = the_crate();
    let circles = service_circles(&krate);
    assert!(circles.is_empty(), "{}", circles.join("\n"));
}

#[test]
fn the_table_has_no_cycle() {
    // Each module may only use modules listed before it.
    for (at, (module, may)) in ALLOWED.iter().enumerate() {
        for used in *may {
            let position = ALLOWED.iter().position(|(m, _)| m == used).expect("a listed module");
            assert!(position < at, "{module} may use {used}, which is not below it");
        }
    }
}

/// `docs/architecture.md` shows this table to people: every module in it,
/// with what it may use, and nothing else.
#[test]
fn the_architecture_document_shows_this_table() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
        .expect("docs/architecture.md");
    let section = doc.split("## Layers").nth(1).and_then(|s| s.split("\n## ").next()).expect("a Layers section");
    let ticked = |cell: &str| -> Vec<String> { cell.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    let mut shown: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").collect();
        let (modules, may) = (cells[0], cells[cells.len() - 1]);
        let mut may = if may.trim() == "nothing" { Vec::new() } else { ticked(may) };
        may.sort();
        for module in ticked(modules) {
            shown.insert(module, may.clone());
        }
    }
    let table: BTreeMap<String, Vec<String>> = ALLOWED
        .iter()
        .map(|(m, may)| {
            let mut may: Vec<String> = may.iter().map(|u| (*u).to_owned()).collect();
            may.sort();
            ((*m).to_owned(), may)
        })
        .collect();
    assert_eq!(shown, table, "docs/architecture.md's table of layers differs from this test's");
}

// --- the checker itself, on small crates made here ---------------------------

/// A small crate with the real layers' shape, `files` replacing or adding
/// to its files.
fn small_crate(files: &[(&str, &str)]) -> Crate {
    let mut sources: BTreeMap<String, String> = [
        ("lib.rs", "pub mod domain;\npub mod store;\npub mod service;\npub mod http;\n"),
        ("domain.rs", "pub struct Id;\n"),
        ("store/mod.rs", "pub mod keys;\npub struct Store;\npub struct Row;\n"),
        ("store/keys.rs", "pub fn insert() {}\n"),
        (
            "service/mod.rs",
            "use crate::store::Store;\n\
             pub struct Service { store: Store }\n\
             impl Service {\n    pub(crate) fn store(&self) -> &Store { &self.store }\n}\n",
        ),
        ("http/mod.rs", "pub mod api;\nuse crate::service::Service;\npub fn serve(_: &Service) {}\n"),
        ("http/api.rs", "use crate::domain::Id;\npub fn id() -> Id { Id }\n"),
    ]
    .into_iter()
    .map(|(f, t)| (f.to_owned(), t.to_owned()))
    .collect();
    for (file, text) in files {
        sources.insert((*file).to_owned(), (*text).to_owned());
    }
    Crate::read(&sources).unwrap_or_else(|e| panic!("the small crate could not be read: {e}"))
}

/// What the three rules find in a small crate.
fn findings(files: &[(&str, &str)]) -> Vec<String> {
    let krate = small_crate(files);
    let mut found = across_layers(&krate);
    let storage = reaching_storage(&krate);
    if storage != ["service"] {
        found.push(format!("store is reached by {storage:?}"));
    }
    found.extend(store_made_public(&krate));
    found.extend(store_handed_out(&krate));
    found.extend(service_circles(&krate));
    found
}

/// Asserts that exactly one finding was made and that it begins with `start`.
fn finds(files: &[(&str, &str)], start: &str) {
    let found = findings(files);
    let of_kind: Vec<&String> = found.iter().filter(|f| f.starts_with(start)).collect();
    assert!(!of_kind.is_empty(), "nothing found that begins with {start:?}; found: {found:#?}");
}

#[test]
fn the_small_crate_passes_as_it_is() {
    assert_eq!(findings(&[]), Vec::<String>::new());
}

#[test]
fn a_use_through_super_is_caught() {
    finds(&[("http/mod.rs", "pub mod api;\nuse super::store::Store;\npub fn f(_: Store) {}\n")], "http uses store");
}

#[test]
fn a_use_through_super_super_is_caught() {
    finds(&[("http/api.rs", "use super::super::store::Row;\npub fn f(_: Row) {}\n")], "http uses store");
}

#[test]
fn a_re_export_counts_for_the_module_it_reaches() {
    let service = "use crate::store::Store;\npub use crate::store::Row;\n\
                   pub struct Service { store: Store }\n\
                   impl Service { pub(crate) fn store(&self) -> &Store { &self.store } }\n";
    finds(
        &[("service/mod.rs", service), ("http/api.rs", "use crate::service::Row;\npub fn f(_: Row) {}\n")],
        "http uses store",
    );
}

#[test]
fn a_glob_re_export_counts_for_the_module_it_reaches() {
    let service = "pub use crate::store::*;\n\
                   pub struct Service { store: Store }\n\
                   impl Service { pub(crate) fn store(&self) -> &Store { &self.store } }\n";
    // A path in a function's signature, not a `use`.
    finds(&[("service/mod.rs", service), ("http/api.rs", "pub fn f(_: crate::service::Row) {}\n")], "http uses store");
}

#[test]
fn a_re_export_through_self_and_a_child_is_followed() {
    let service = "mod inner;\npub use self::inner::Row;\nuse crate::store::Store;\n\
                   pub struct Service { store: Store }\n\
                   impl Service { pub(crate) fn store(&self) -> &Store { &self.store } }\n";
    finds(
        &[
            ("service/mod.rs", service),
            ("service/inner.rs", "pub use crate::store::Row;\n"),
            ("http/api.rs", "pub fn f() -> Option<crate::service::Row> { None }\n"),
        ],
        "http uses store",
    );
}

#[test]
fn a_grouped_use_is_caught_by_name() {
    let found = findings(&[(
        "http/mod.rs",
        "pub mod api;\nuse crate::{domain::Id, store::Store};\npub fn f(_: Id, _: Store) {}\n",
    )]);
    assert!(found.iter().any(|f| f.starts_with("http uses store: `crate::store::Store`")), "{found:#?}");
    assert!(!found.iter().any(|f| f.contains("uses :") || f.starts_with("http uses domain")), "{found:#?}");
}

#[test]
fn a_path_in_a_macro_is_caught() {
    finds(
        &[("http/api.rs", "pub fn f() { let _ = format!(\"{:?}\", crate::store::keys::insert()); }\n")],
        "http uses store",
    );
}

#[test]
fn a_public_store_accessor_is_caught_however_spaced() {
    for service in [
        "use crate::store::Store;\npub struct Service { store: Store }\n\
         impl Service {\n    pub fn  store(&self) -> &Store { &self.store }\n}\n",
        "use crate::store::Store;\npub struct Service { store: Store }\n\
         impl Service {\n    pub\n    fn store(&self) -> &Store { &self.store }\n}\n",
    ] {
        finds(&[("service/mod.rs", service)], "pub fn Service::store");
    }
}

#[test]
fn comments_and_strings_are_not_uses() {
    let http = "//! Unlike crate::store, this layer …\n\
                pub mod api;\n\
                // use crate::store::Store;\n\
                /* crate::store::keys::insert() */\n\
                /// Never crate::store::Row directly.\n\
                pub fn f() -> &'static str { \"crate::store::Store\" }\n";
    assert_eq!(findings(&[("http/mod.rs", http)]), Vec::<String>::new());
}

#[test]
fn a_module_named_store_inside_another_is_not_storage() {
    let http = "pub mod api;\npub mod store { pub struct Local; }\nuse self::store::Local;\npub fn f(_: Local) {}\n";
    assert_eq!(findings(&[("http/mod.rs", http)]), Vec::<String>::new());
}

#[test]
fn a_module_missing_from_the_table_is_caught() {
    finds(
        &[
            ("lib.rs", "pub mod domain;\npub mod store;\npub mod service;\npub mod http;\npub mod extra;\n"),
            ("extra.rs", "pub fn f() -> crate::domain::Id { crate::domain::Id }\n"),
        ],
        "extra is not in the table of layers",
    );
}

#[test]
fn globs_that_import_each_other_end() {
    let http = "pub mod api;\npub use api::*;\npub fn f(_: Nowhere) {}\n";
    let api = "use super::*;\npub fn g(_: Elsewhere, _: crate::http::Nowhere) {}\n";
    assert_eq!(findings(&[("http/mod.rs", http), ("http/api.rs", api)]), Vec::<String>::new());
}

/// `service/mod.rs` of the small crate, declaring `children`.
fn service_with(children: &[&str]) -> String {
    let mods: String = children.iter().map(|c| format!("pub mod {c};\n")).collect();
    format!(
        "{mods}use crate::store::Store;\npub struct Service {{ store: Store }}\n\
         impl Service {{\n    pub(crate) fn store(&self) -> &Store {{ &self.store }}\n}}\n"
    )
}

#[test]
fn two_service_modules_using_each_other_are_caught() {
    let service = service_with(&["audit", "webhooks"]);
    finds(
        &[
            ("service/mod.rs", &service),
            ("service/audit.rs", "use super::webhooks;\npub fn record() { webhooks::queue() }\n"),
            ("service/webhooks.rs", "pub fn queue() {}\npub fn create() { super::audit::record() }\n"),
        ],
        "service modules in a circle: audit, webhooks",
    );
}

#[test]
fn a_circle_through_a_third_service_module_is_caught() {
    let service = service_with(&["a", "b", "c"]);
    let found = findings(&[
        ("service/mod.rs", &service),
        ("service/a.rs", "pub fn f() { crate::service::b::g() }\n"),
        ("service/b.rs", "use super::c::h;\npub fn g() { h() }\n"),
        ("service/c.rs", "pub fn h() {}\npub fn i() { super::a::f() }\n"),
    ]);
    assert!(found.iter().any(|f| f.starts_with("service modules in a circle: a, b, c")), "{found:#?}");
}

#[test]
fn service_modules_used_one_way_and_the_shared_root_are_no_circle() {
    let service = service_with(&["audit", "keys"]);
    let service = format!("{service}pub use keys::Key;\npub struct Page;\n");
    assert_eq!(
        findings(&[
            ("service/mod.rs", &service),
            ("service/audit.rs", "use super::Page;\npub fn record(_: &Page) {}\n"),
            (
                "service/keys.rs",
                "use super::{Page, audit};\npub struct Key;\npub fn create() { audit::record(&Page) }\n"
            ),
        ]),
        Vec::<String>::new()
    );
}

#[test]
fn a_store_type_a_public_function_returns_is_caught() {
    let service = service_with(&["usage"]);
    finds(
        &[
            ("service/mod.rs", &service),
            ("service/usage.rs", "pub fn flush() -> Result<(), crate::store::Row> { Ok(()) }\n"),
        ],
        "service hands out store: `crate::store::Row`",
    );
}

#[test]
fn a_store_type_in_a_public_error_variant_or_field_is_caught() {
    for (file, text) in [
        ("service/error.rs", "use crate::store::Row;\npub enum ServiceError { Unavailable(Row) }\n"),
        ("service/error.rs", "pub struct Claimed { pub row: crate::store::Row }\n"),
        ("service/error.rs", "pub use crate::store::Row as Record;\n"),
        ("service/error.rs", "pub type Answer = Option<super::super::store::Row>;\n"),
    ] {
        let service = service_with(&["error"]);
        finds(&[("service/mod.rs", &service), (file, text)], "service hands out store");
    }
}

#[test]
fn a_store_type_the_service_takes_or_keeps_to_itself_is_no_finding() {
    let service = service_with(&["usage"]);
    let usage = "use crate::store::{Row, Store};\n\
                 pub fn open(_: Store) {}\n\
                 pub(crate) fn read() -> Option<Row> { None }\n\
                 fn write() -> Option<Row> { None }\n\
                 pub struct Batch { rows: Vec<Row> }\n\
                 enum Private { One(Row) }\n\
                 pub fn flush() -> Result<(), String> { let _: Option<Row> = read(); Ok(()) }\n";
    assert_eq!(findings(&[("service/mod.rs", &service), ("service/usage.rs", usage)]), Vec::<String>::new());
}
