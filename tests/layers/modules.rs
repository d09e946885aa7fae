//! The library's modules as the compiler sees them: every file reached from
//! `lib.rs` through its `mod` items, parsed with `syn`, and every path the
//! code names (in `use` items, expressions, types, macro bodies and
//! attributes) resolved to the module that defines what it names: `super::`,
//! `self::`, grouped imports, names brought in by `use` and re-exports
//! (`pub use`, globs) are followed there. Comments are not code and are not
//! read.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};

/// A module's path from the crate root: `[]` is `lib.rs`, `["service",
/// "keys"]` is `service::keys`.
pub type ModPath = Vec<String>;

/// How deep re-exports and globs are followed before giving up (a cycle).
const MAX_DEPTH: usize = 24;

/// What one module declares.
#[derive(Default)]
struct Module {
    /// Its child modules.
    children: BTreeSet<String>,
    /// Everything else it defines: functions, types, traits, constants…
    items: BTreeSet<String>,
    /// Names brought in by `use`, each with the path it stands for, as written.
    bindings: BTreeMap<String, Vec<String>>,
    /// The paths of its glob imports (`use x::*`), as written.
    globs: Vec<Vec<String>>,
}

/// A path named in the code, as written, and where.
pub struct Use {
    /// The module whose code names it.
    pub module: ModPath,
    /// The file, relative to `src/`.
    pub file: String,
    /// Its segments; a leading `::` is a segment of its own.
    pub path: Vec<String>,
    /// Named in what a `pub` item hands to its callers: a function's return
    /// type, a public field, an enum's variant, a type alias, a constant's
    /// type or a `pub use`. What a function takes is not counted.
    pub handed_out: bool,
}

impl Use {
    pub fn written(&self) -> String {
        self.path.join("::").replace("::::", "::")
    }
}

/// A function declared `pub`: its module, file and name (`Type::name` for a
/// method of an inherent impl).
pub struct PublicFn {
    pub module: ModPath,
    pub file: String,
    pub name: String,
}

/// The library crate, read.
pub struct Crate {
    modules: BTreeMap<ModPath, Module>,
    /// Every path its code names.
    pub uses: Vec<Use>,
    pub public_fns: Vec<PublicFn>,
    /// The files that make it up, relative to `src/`.
    pub files: BTreeSet<String>,
    /// What `has_name` found through globs, by module and name; `None` while
    /// it is being found.
    globbed: RefCell<HashMap<(ModPath, String), Option<bool>>>,
}

impl Crate {
    /// Reads the crate rooted at `lib.rs` from `sources` (file paths relative
    /// to `src/`, with `/` between folders, and their text).
    pub fn read(sources: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut krate = Self {
            modules: BTreeMap::new(),
            uses: Vec::new(),
            public_fns: Vec::new(),
            files: BTreeSet::new(),
            globbed: RefCell::new(HashMap::new()),
        };
        krate.read_file(sources, "lib.rs", Vec::new())?;
        Ok(krate)
    }

    fn read_file(&mut self, sources: &BTreeMap<String, String>, file: &str, module: ModPath) -> Result<(), String> {
        let text = sources.get(file).ok_or_else(|| format!("no file {file} for module {}", module.join("::")))?;
        let parsed = syn::parse_file(text).map_err(|e| format!("{file}: {e}"))?;
        self.files.insert(file.to_owned());
        // Where the files of its `mod x;` items are: beside a `lib.rs` or
        // `mod.rs`, else in the folder named after the file.
        let dir = match file.rsplit_once('/') {
            _ if file == "lib.rs" || file == "main.rs" => String::new(),
            Some((parent, "mod.rs")) => format!("{parent}/"),
            _ => format!("{}/", file.trim_end_matches(".rs")),
        };
        self.read_items(sources, file, &dir, module, &parsed.attrs, &parsed.items)
    }

    fn read_items(
        &mut self,
        sources: &BTreeMap<String, String>,
        file: &str,
        dir: &str,
        module: ModPath,
        attrs: &[syn::Attribute],
        items: &[syn::Item],
    ) -> Result<(), String> {
        self.modules.entry(module.clone()).or_default();
        let mut reader = Reader { krate: self, module: &module, file, impl_of: None, handing_out: false };
        for attr in attrs {
            reader.visit_attribute(attr);
        }
        let mut children = Vec::new();
        for item in items {
            match item {
                syn::Item::Mod(m) => children.push(m),
                other => reader.visit_item(other),
            }
        }
        for m in children {
            let name = unraw(&m.ident);
            self.modules.get_mut(&module).expect("module").children.insert(name.clone());
            let mut child = module.clone();
            child.push(name.clone());
            let mut reader = Reader { krate: self, module: &module, file, impl_of: None, handing_out: false };
            for attr in &m.attrs {
                reader.visit_attribute(attr);
            }
            match &m.content {
                Some((_, inner)) => self.read_items(sources, file, &format!("{dir}{name}/"), child, &[], inner)?,
                None => {
                    let candidates = match path_attribute(&m.attrs) {
                        Some(path) => {
                            let here = file.rsplit_once('/').map_or("", |(parent, _)| parent);
                            vec![if here.is_empty() { path } else { format!("{here}/{path}") }]
                        }
                        None => vec![format!("{dir}{name}.rs"), format!("{dir}{name}/mod.rs")],
                    };
                    let found = candidates.iter().find(|c| sources.contains_key(c.as_str())).ok_or_else(|| {
                        format!("{file}: no file for `mod {name};` (looked for {})", candidates.join(", "))
                    })?;
                    self.read_file(sources, found, child)?;
                }
            }
        }
        Ok(())
    }

    /// The modules `lib.rs` declares.
    pub fn top_modules(&self) -> impl Iterator<Item = &String> {
        self.modules.get(&Vec::new()).into_iter().flat_map(|root| &root.children)
    }

    /// The module that defines what `path`, named in the code of `module`,
    /// names; `None` for what is outside the crate (another crate, the
    /// prelude, a local name). A name the crate makes with a macro is not
    /// seen: the path then reaches the last module it could follow.
    pub fn reach(&self, module: &[String], path: &[String]) -> Option<ModPath> {
        self.reach_from(module, path, 0)
    }

    fn reach_from(&self, module: &[String], path: &[String], depth: usize) -> Option<ModPath> {
        if depth > MAX_DEPTH {
            return None;
        }
        let first = path.first()?;
        match first.as_str() {
            "::" => None,
            "crate" | "$crate" => self.walk(Vec::new(), &path[1..], depth),
            "self" | "super" => self.walk(module.to_vec(), path, depth),
            name if self.has_name(module, name, depth) => self.walk(module.to_vec(), path, depth),
            _ => None,
        }
    }

    /// Follows `rest` down from module `at`.
    fn walk(&self, mut at: ModPath, rest: &[String], depth: usize) -> Option<ModPath> {
        for (i, segment) in rest.iter().enumerate() {
            match segment.as_str() {
                "self" => continue,
                "super" => {
                    at.pop()?;
                    continue;
                }
                _ => {}
            }
            let module = self.modules.get(&at)?;
            if module.children.contains(segment) {
                at.push(segment.clone());
                continue;
            }
            if module.items.contains(segment) {
                return Some(at);
            }
            if let Some(target) = module.bindings.get(segment) {
                let whole: Vec<String> = target.iter().chain(&rest[i + 1..]).cloned().collect();
                return self.reach_from(&at, &whole, depth + 1);
            }
            let from_glob = module
                .globs
                .iter()
                .filter_map(|glob| self.reach_from(&at, glob, depth + 1))
                .find(|from| self.has_name(from, segment, depth + 1));
            if let Some(from) = from_glob {
                return self.walk(from, &rest[i..], depth + 1);
            }
            // Made by a macro, or a variant or method of a type defined
            // here: this module is as far as the path can be followed.
            return Some(at);
        }
        Some(at)
    }

    /// Whether `name` is in scope in `module` through what it declares or imports.
    fn has_name(&self, module: &[String], name: &str, depth: usize) -> bool {
        let Some(m) = self.modules.get(module) else { return false };
        if m.children.contains(name) || m.items.contains(name) || m.bindings.contains_key(name) {
            return true;
        }
        if depth >= MAX_DEPTH || m.globs.is_empty() {
            return false;
        }
        // Globs may import each other (`use super::*` in a child whose parent
        // has `pub use child::*`): each question is asked once, and asked
        // again while it is open, it is answered no.
        let key = (module.to_vec(), name.to_owned());
        if let Some(known) = self.globbed.borrow().get(&key) {
            return known.unwrap_or(false);
        }
        self.globbed.borrow_mut().insert(key.clone(), None);
        let found = m.globs.iter().any(|glob| {
            self.reach_from(module, glob, depth + 1).is_some_and(|from| self.has_name(&from, name, depth + 1))
        });
        self.globbed.borrow_mut().insert(key, Some(found));
        found
    }
}

/// `#[path = "…"]`, if the item has it.
fn path_attribute(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find(|a| a.path().is_ident("path")).and_then(|a| match &a.meta {
        syn::Meta::NameValue(syn::MetaNameValue {
            value: syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }),
            ..
        }) => Some(s.value()),
        _ => None,
    })
}

/// `pub`, not `pub(crate)` or `pub(super)`.
fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn unraw(ident: &syn::Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_owned()
}

/// Reads one module's items (not its child modules) into the crate.
struct Reader<'a> {
    krate: &'a mut Crate,
    module: &'a ModPath,
    file: &'a str,
    /// The type of the inherent impl being read, if any.
    impl_of: Option<String>,
    /// Whether what is read now is handed out by a `pub` item.
    handing_out: bool,
}

impl Reader<'_> {
    fn here(&mut self) -> &mut Module {
        self.krate.modules.get_mut(self.module).expect("module")
    }

    fn named(&mut self, path: Vec<String>) {
        let handed_out = self.handing_out;
        self.krate.uses.push(Use { module: self.module.clone(), file: self.file.to_owned(), path, handed_out });
    }

    /// Reads `f` as handed out when `public`.
    fn handing_out_if(&mut self, public: bool, f: impl FnOnce(&mut Self)) {
        let outer = self.handing_out;
        self.handing_out = outer || public;
        f(self);
        self.handing_out = outer;
    }

    /// A function's signature: what it takes as it is, what it returns as
    /// handed out when the function is `pub`.
    fn signature(&mut self, vis: &syn::Visibility, sig: &syn::Signature) {
        self.visit_generics(&sig.generics);
        for input in &sig.inputs {
            self.visit_fn_arg(input);
        }
        self.handing_out_if(is_pub(vis), |r| r.visit_return_type(&sig.output));
    }

    fn defines(&mut self, ident: &syn::Ident) {
        let name = unraw(ident);
        self.here().items.insert(name);
    }

    fn public_fn(&mut self, vis: &syn::Visibility, ident: &syn::Ident) {
        if matches!(vis, syn::Visibility::Public(_)) {
            let name = match &self.impl_of {
                Some(ty) => format!("{ty}::{}", unraw(ident)),
                None => unraw(ident),
            };
            self.krate.public_fns.push(PublicFn { module: self.module.clone(), file: self.file.to_owned(), name });
        }
    }

    /// One `use` tree under `prefix`: its bindings, globs, and each path it names.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(unraw(&p.ident));
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = unraw(&n.ident);
                let mut path = prefix.clone();
                // `use a::b::{self}` binds `b`.
                let bound = if name == "self" {
                    prefix.last().cloned().unwrap_or_default()
                } else {
                    path.push(name.clone());
                    name
                };
                self.here().bindings.insert(bound, path.clone());
                self.named(path);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                let name = unraw(&r.ident);
                if name != "self" {
                    path.push(name);
                }
                let rename = unraw(&r.rename);
                if rename != "_" {
                    self.here().bindings.insert(rename, path.clone());
                }
                self.named(path);
            }
            syn::UseTree::Glob(_) => {
                self.here().globs.push(prefix.clone());
                self.named(prefix.clone());
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    /// Paths inside a macro's or an attribute's tokens: `a::b::c` runs of two
    /// or more segments, and in attributes, string literals that are paths
    /// (`#[serde(with = "crate::x")]`).
    fn tokens(&mut self, tokens: TokenStream, in_attribute: bool) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let is_colon = |i: usize| matches!(trees.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':');
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream(), in_attribute);
                    i += 1;
                }
                TokenTree::Ident(ident) => {
                    let dollar = i > 0 && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '$');
                    let leading = i >= 2 && is_colon(i - 1) && is_colon(i - 2);
                    let mut path = vec![format!(
                        "{}{}",
                        if dollar { "$" } else { "" },
                        ident.to_string().trim_start_matches("r#")
                    )];
                    if leading {
                        path.insert(0, "::".to_owned());
                    }
                    i += 1;
                    while is_colon(i) && is_colon(i + 1) {
                        let Some(TokenTree::Ident(next)) = trees.get(i + 2) else { break };
                        path.push(next.to_string().trim_start_matches("r#").to_owned());
                        i += 3;
                    }
                    if path.len() > 1 {
                        self.named(path);
                    }
                }
                TokenTree::Literal(literal) => {
                    let text = syn::parse2::<syn::LitStr>(TokenTree::Literal(literal.clone()).into());
                    if let (true, Ok(text)) = (in_attribute, text) {
                        if let Ok(path) = syn::parse_str::<syn::Path>(&text.value()) {
                            self.visit_path(&path);
                        }
                    }
                    i += 1;
                }
                TokenTree::Punct(_) => i += 1,
            }
        }
    }
}

impl<'ast> Visit<'ast> for Reader<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut prefix = if item.leading_colon.is_some() { vec!["::".to_owned()] } else { Vec::new() };
        self.handing_out_if(is_pub(&item.vis), |r| r.use_tree(&mut prefix, &item.tree));
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let mut segments: Vec<String> = path.segments.iter().map(|s| unraw(&s.ident)).collect();
        if path.leading_colon.is_some() {
            segments.insert(0, "::".to_owned());
        }
        self.named(segments);
        visit::visit_path(self, path);
    }

    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {
        // `pub(crate)`, `pub(in …)`: an ancestor of the module itself, never a use.
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone(), false);
        visit::visit_macro(self, mac);
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        // Doc comments are comments.
        if attr.path().is_ident("doc") {
            return;
        }
        if let syn::Meta::List(list) = &attr.meta {
            self.tokens(list.tokens.clone(), true);
        }
        visit::visit_attribute(self, attr);
    }

    fn visit_item(&mut self, item: &'ast syn::Item) {
        match item {
            syn::Item::Const(i) => self.defines(&i.ident),
            syn::Item::Enum(i) => self.defines(&i.ident),
            syn::Item::Fn(i) => {
                self.defines(&i.sig.ident);
                self.public_fn(&i.vis, &i.sig.ident);
            }
            syn::Item::Macro(i) => {
                if let Some(ident) = &i.ident {
                    self.defines(ident);
                }
            }
            syn::Item::Static(i) => self.defines(&i.ident),
            syn::Item::Struct(i) => self.defines(&i.ident),
            syn::Item::Trait(i) => self.defines(&i.ident),
            syn::Item::TraitAlias(i) => self.defines(&i.ident),
            syn::Item::Type(i) => self.defines(&i.ident),
            syn::Item::Union(i) => self.defines(&i.ident),
            _ => {}
        }
        visit::visit_item(self, item);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let outer = self.impl_of.take();
        if let (None, syn::Type::Path(ty)) = (&item.trait_, &*item.self_ty) {
            self.impl_of = ty.path.segments.last().map(|s| unraw(&s.ident));
        }
        visit::visit_item_impl(self, item);
        self.impl_of = outer;
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.public_fn(&item.vis, &item.sig.ident);
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        self.signature(&item.vis, &item.sig);
        self.visit_block(&item.block);
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        // A function's body is not an impl's.
        let outer = self.impl_of.take();
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        self.signature(&item.vis, &item.sig);
        self.visit_block(&item.block);
        self.impl_of = outer;
    }

    fn visit_item_struct(&mut self, item: &'ast syn::ItemStruct) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        self.visit_generics(&item.generics);
        for field in &item.fields {
            self.handing_out_if(is_pub(&item.vis) && is_pub(&field.vis), |r| r.visit_field(field));
        }
    }

    fn visit_item_enum(&mut self, item: &'ast syn::ItemEnum) {
        self.handing_out_if(is_pub(&item.vis), |r| visit::visit_item_enum(r, item));
    }

    fn visit_item_type(&mut self, item: &'ast syn::ItemType) {
        self.handing_out_if(is_pub(&item.vis), |r| visit::visit_item_type(r, item));
    }

    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        self.handing_out_if(is_pub(&item.vis), |r| r.visit_type(&item.ty));
        self.visit_expr(&item.expr);
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        self.handing_out_if(is_pub(&item.vis), |r| r.visit_type(&item.ty));
        self.visit_expr(&item.expr);
    }
}
