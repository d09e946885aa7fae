//! Completes the OpenAPI document with the answers that every operation of a
//! kind can give, whichever handler it is: the refusals of the shared
//! extractors and middleware (credentials, the organization pin, bodies,
//! throttling, storage away). A client generated from the document then
//! knows every status it can get, and no handler has to repeat them.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

const PROBLEM: &str = "application/problem+json";

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(PROBLEM, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build(),
    )
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
}

/// Whether the operation takes a credential (any requirement that names a
/// scheme; an empty requirement only means "also without").
fn authenticated(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|reqs| {
        let json = serde_json::to_value(reqs).unwrap_or_default();
        json.as_array().is_some_and(|all| all.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty())))
    })
}

fn has_query(op: &Operation, name: &str) -> bool {
    op.parameters
        .as_ref()
        .is_some_and(|ps| ps.iter().any(|p| p.name == name && matches!(p.parameter_in, ParameterIn::Query)))
}

pub fn complete(doc: &mut OpenApi) {
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
