//! Completes the OpenAPI document with the answers that every operation of a
//! kind can give, whichever handler it is: the refusals of the shared
//! extractors and middleware (credentials, the organization pin, bodies,
//! throttling, storage away). A client generated from the document then
//! knows every status it can get, and no handler has to repeat them. It also
//! keeps operation ids unique where one handler serves several methods,
//! and sends every `Problem` a handler names as `application/problem+json`.
//!
//! Credentials are the default: an operation that names no `security` takes
//! any of the three (a key, Basic, the web app's session), and a public one
//! says so with `security(())`, which leaves the document with none. A new
//! endpoint that forgets the line is thus documented as guarded, never as
//! open. Every operation a key may call takes `orgId` (the `Caller`
//! extractors read it), so that is added too.

use utoipa::IntoParams;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

use super::api::OrgQuery;

const PROBLEM: &str = "application/problem+json";

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(PROBLEM, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build(),
    )
}

/// A handler's `body = Problem` comes out as `application/json`; every
/// problem this API answers is `application/problem+json`.
fn problem_media_type(op: &mut Operation) {
    for response in op.responses.responses.values_mut() {
        let RefOr::T(response) = response else { continue };
        let is_problem = response.content.get("application/json").is_some_and(|c| {
            matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location == Ref::from_schema_name("Problem").ref_location)
        });
        if let Some(content) = is_problem.then(|| response.content.shift_remove("application/json")).flatten() {
            response.content.insert(PROBLEM.to_owned(), content);
        }
    }
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
}

/// The default requirement, and `security(())` (one empty requirement,
/// "also without") turned into none at all.
fn default_security(op: &mut Operation) {
    match &op.security {
        None => {
            op.security = Some(
                ["apiKey", "basic", "session"]
                    .into_iter()
                    .map(|s| SecurityRequirement::new::<_, _, &str>(s, []))
                    .collect(),
            )
        }
        Some(reqs) if !authenticated(op) && reqs.len() == 1 => op.security = None,
        Some(_) => {}
    }
}

/// The schemes each of the operation's requirements names (an empty one:
/// "also without"). utoipa keeps them private, so they are read back
/// through serde.
fn requirements(op: &Operation) -> Vec<Vec<String>> {
    let json = serde_json::to_value(&op.security).unwrap_or_default();
    let all = json.as_array().map(Vec::as_slice).unwrap_or_default();
    all.iter().map(|r| r.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()).collect()
}

/// Whether a key may call the operation.
fn takes_keys(op: &Operation) -> bool {
    requirements(op).iter().flatten().any(|scheme| scheme == "apiKey")
}

/// Whether the operation takes a credential (any requirement that names a
/// scheme).
fn authenticated(op: &Operation) -> bool {
    requirements(op).iter().any(|r| !r.is_empty())
}

fn has_query(op: &Operation, name: &str) -> bool {
    op.parameters
        .as_ref()
        .is_some_and(|ps| ps.iter().any(|p| p.name == name && matches!(p.parameter_in, ParameterIn::Query)))
}

/// One handler may serve several methods (the gateways' `verify`), but
/// OpenAPI wants each operation's id unique, and client generators name
/// their functions after it: the GET keeps the handler's id, the others get
/// their method appended (`verifyPost`).
fn unique_operation_ids(doc: &mut OpenApi) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for item in doc.paths.paths.values() {
        let ops = [&item.get, &item.put, &item.post, &item.delete, &item.patch, &item.head, &item.options, &item.trace];
        for id in ops.into_iter().flatten().filter_map(|op| op.operation_id.clone()) {
            *seen.entry(id).or_default() += 1;
        }
    }
    for item in doc.paths.paths.values_mut() {
        let ops = [
            ("Put", item.put.as_mut()),
            ("Post", item.post.as_mut()),
            ("Delete", item.delete.as_mut()),
            ("Patch", item.patch.as_mut()),
            ("Head", item.head.as_mut()),
            ("Options", item.options.as_mut()),
            ("Trace", item.trace.as_mut()),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            if let Some(id) = op.operation_id.as_mut().filter(|id| seen.get(id.as_str()).is_some_and(|n| *n > 1)) {
                id.push_str(method);
            }
        }
    }
}

pub fn complete(doc: &mut OpenApi) {
    unique_operation_ids(doc);
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
            item.head.as_mut(),
            item.options.as_mut(),
            item.trace.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            default_security(op);
            problem_media_type(op);
            if takes_keys(op) && !has_query(op, "orgId") {
                op.parameters.get_or_insert_with(Vec::new).extend(OrgQuery::into_params(|| Some(ParameterIn::Query)));
            }
            let takes_query = op
                .parameters
                .as_ref()
                .is_some_and(|ps| ps.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query)));
            if takes_query {
                add(op, "400", "A query parameter could not be read");
            }
            if authenticated(op) {
                add(op, "401", "No valid credentials");
                add(op, "403", "The caller may not do this here (its role, or an organization it may not pin)");
                add(op, "429", "Too many failed attempts from this client; see Retry-After");
            }
            if has_query(op, "orgId") {
                add(op, "400", "orgId is needed (the caller belongs to several organizations) or unreadable");
            }
            if let Some(body) = op.request_body.as_mut() {
                // An empty body is read as `{}` by every JSON endpoint.
                body.required = Some(utoipa::openapi::Required::False);
                add(op, "400", "The body is not well-formed");
                add(op, "413", "The body is larger than 64 KiB");
                add(op, "415", "The body was not sent as JSON");
                add(op, "422", "A field is missing or wrong; `field` names it");
            }
            if path.contains('{') {
                add(op, "404", "Not found (or in another organization)");
            }
            add(op, "503", "Storage is unavailable or the server is busy; retry after Retry-After");
        }
    }
}
