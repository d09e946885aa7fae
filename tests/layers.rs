//! The layering of `docs/architecture.md`, held by reading the source: each
//! top-level module may use only the modules below it, so no cycle can form
//! and only the service layer reaches storage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let first = file.strip_prefix(src).expect("under src").components().next().expect("a component");
    first.as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// `crate::name` uses of each top-level module, comments left out.
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        let text = std::fs::read_to_string(&file).expect("read source");
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let name: String =
                    line[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if name != module {
                    uses.entry(module.clone()).or_default().insert(name);
                }
            }
        }
    }
    uses
}

#[test]
fn each_module_uses_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let uses = uses();
    assert!(uses.contains_key("http") && uses.contains_key("service"), "the source was not read: {uses:?}");
    let mut wrong = Vec::new();
    for (module, used) in &uses {
        let Some(may) = allowed.get(module.as_str()) else {
            // lib.rs and main.rs assemble everything.
            if module != "lib" && module != "main" {
                wrong.push(format!("{module} is not in the table of layers"));
            }
            continue;
        };
        wrong.extend(used.iter().filter(|u| !may.contains(&u.as_str())).map(|u| format!("{module} uses {u}")));
    }
    assert!(wrong.is_empty(), "uses across the layering:\n{}", wrong.join("\n"));
}

#[test]
fn only_the_service_layer_reaches_storage() {
    let reach: Vec<String> =
        uses().into_iter().filter(|(_, used)| used.contains("store")).map(|(module, _)| module).collect();
    assert_eq!(reach, ["service"], "only service/ may use store/");
    let service = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/service/mod.rs"))
        .expect("read service/mod.rs");
    assert!(!service.contains("pub fn store("), "Service::store must stay crate-private");
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
