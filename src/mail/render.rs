//! The messages keyward sends: a plain-text and an HTML part saying the same
//! thing, a clear subject, and never a key's secret.

use lettre::Message;
use lettre::message::{Mailbox, MultiPart, header};

use crate::domain::{Role, UnixTime};
use crate::html::escape;
use crate::service::mail::{ExpiryPayload, LeakPayload, WebhookDisabledPayload};

/// A message's words, before addressing.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The request to confirm `email` for the service account `account_name`.
pub fn confirmation(account_name: &str, email: &str, link: &str, valid_hours: u64) -> Rendered {
    let subject = format!("Confirm the email address of service account \"{account_name}\"");
    let text = format!(
        "Hello,\n\n\
         {email} was given as the contact address of the keyward service account \"{account_name}\".\n\
         keyward writes to this address about the account, for example before one of its API keys expires.\n\n\
         To confirm that the address is right, open this link within {valid_hours} hours:\n\n\
         {link}\n\n\
         The link works once. If you did not expect this message, ignore it: nothing changes \
         until the link is opened.\n\n\
         -- keyward\n"
    );
    let html = page(
        &subject,
        &format!(
            "<p>Hello,</p>\
             <p><strong>{email}</strong> was given as the contact address of the keyward service account \
             <strong>{name}</strong>. keyward writes to this address about the account, for example before one \
             of its API keys expires.</p>\
             <p>To confirm that the address is right, open this link within {valid_hours} hours:</p>\
             <p><a href=\"{link}\">Confirm {email}</a></p>\
             <p>Or copy it into your browser: {link_text}</p>\
             <p>The link works once. If you did not expect this message, ignore it: nothing changes until the \
             link is opened.</p>",
            email = escape(email),
            name = escape(account_name),
            link = escape(link),
            link_text = escape(link),
        ),
    );
    Rendered { subject, text, html }
}

/// "a viewer", "an editor", "an admin".
fn with_article(role: Role) -> String {
    match role {
        Role::Viewer => "a viewer".to_owned(),
        Role::Editor => "an editor".to_owned(),
        Role::Admin => "an admin".to_owned(),
    }
}

/// An invitation to a person without a password yet: the one-time link to
/// choose one, which only this message carries.
pub fn invitation(org_name: &str, role: Role, link: &str, valid_days: u64) -> Rendered {
    let subject = format!("You are invited to \"{org_name}\" on keyward");
    let role = with_article(role);
    let text = format!(
        "Hello,\n\n\
         An admin of the organization \"{org_name}\" added you to it on keyward as {role}.\n\
         keyward holds the organization's service accounts and their API keys.\n\n\
         To accept, choose your password within {valid_days} days:\n\n\
         {link}\n\n\
         The link works once, and only as long as you are a member of \"{org_name}\". Keep it to yourself: \
         whoever opens it chooses the password of this address. If you did not expect this message, ignore it: \
         without a password nobody can log in with your address.\n\n\
         -- keyward\n"
    );
    let html = page(
        &subject,
        &format!(
            "<p>Hello,</p>\
             <p>An admin of the organization <strong>{org}</strong> added you to it on keyward as {role}. keyward \
             holds the organization's service accounts and their API keys.</p>\
             <p>To accept, choose your password within {valid_days} days:</p>\
             <p><a href=\"{link}\">Choose your password</a></p>\
             <p>Or copy it into your browser: {link_text}</p>\
             <p>The link works once, and only as long as you are a member of <strong>{org}</strong>. Keep it to \
             yourself: whoever opens it chooses the password of this address. If you did not expect this message, \
             ignore it: without a password nobody can log in with your address.</p>",
            org = escape(org_name),
            link = escape(link),
            link_text = escape(link),
        ),
    );
    Rendered { subject, text, html }
}

/// An invitation to a person who has an account: the one-time link to the
/// page where, logged in, they accept it. Nothing changes for them until
/// they do.
pub fn accept_invitation(org_name: &str, role: Role, link: &str, valid_days: u64) -> Rendered {
    let subject = format!("You are invited to join \"{org_name}\" on keyward");
    let role = with_article(role);
    let text = format!(
        "Hello,\n\n\
         An admin of the organization \"{org_name}\" invited you to join it on keyward as {role}.\n\
         Nothing changes for your account until you accept.\n\n\
         To accept, open this link within {valid_days} days, log in with your email and password if asked, \
         and confirm:\n\n\
         {link}\n\n\
         The link works once, and only for you: it asks you to log in as this address. You can also accept or \
         decline the invitation in keyward after logging in. If you do not want to join \"{org_name}\", \
         decline it or ignore this message.\n\n\
         -- keyward\n"
    );
    let html = page(
        &subject,
        &format!(
            "<p>Hello,</p>\
             <p>An admin of the organization <strong>{org}</strong> invited you to join it on keyward as {role}. \
             Nothing changes for your account until you accept.</p>\
             <p>To accept, open this link within {valid_days} days, log in with your email and password if \
             asked, and confirm:</p>\
             <p><a href=\"{link}\">Review the invitation</a></p>\
             <p>Or copy it into your browser: {link_text}</p>\
             <p>The link works once, and only for you: it asks you to log in as this address. You can also \
             accept or decline the invitation in keyward after logging in. If you do not want to join \
             <strong>{org}</strong>, decline it or ignore this message.</p>",
            org = escape(org_name),
            link = escape(link),
            link_text = escape(link),
        ),
    );
    Rendered { subject, text, html }
}

/// The notice of an invitation that may carry no link (it goes to an
/// address spelled otherwise than the account's): log in and answer it
/// there. Nothing about the person's account changes until they accept.
pub fn invitation_notice(org_name: &str, role: Role, login_url: &str) -> Rendered {
    let subject = format!("You are invited to join \"{org_name}\" on keyward");
    let role = with_article(role);
    let text = format!(
        "Hello,\n\n\
         An admin of the organization \"{org_name}\" invited you to join it on keyward as {role}.\n\
         Nothing changes for your account until you accept. Log in with your email and your password as \
         usual, and accept or decline the invitation there:\n\n\
         {login_url}\n\n\
         If you do not want to join \"{org_name}\", decline it or ignore this message.\n\n\
         -- keyward\n"
    );
    let html = page(
        &subject,
        &format!(
            "<p>Hello,</p>\
             <p>An admin of the organization <strong>{org}</strong> invited you to join it on keyward as {role}. \
             Nothing changes for your account until you accept.</p>\
             <p>Log in with your email and your password as usual, and accept or decline the invitation there: \
             <a href=\"{login}\">{login_text}</a></p>\
             <p>If you do not want to join <strong>{org}</strong>, decline it or ignore this message.</p>",
            org = escape(org_name),
            login = escape(login_url),
            login_text = escape(login_url),
        ),
    );
    Rendered { subject, text, html }
}

/// The warning that a key of the account expires soon.
pub fn key_expiry(p: &ExpiryPayload, now: UnixTime, public_url: &str) -> Rendered {
    let key = match &p.key_name {
        Some(name) => format!("\"{name}\" ({})", p.key_id),
        None => p.key_id.to_string(),
    };
    let when = utc(p.expires);
    let left = describe_wait(p.expires - now);
    let subject = format!("API key {key} of \"{}\" expires {left}", p.account_name);
    let console = format!("{public_url}/service-accounts/{}", p.account_id);
    let text = format!(
        "Hello,\n\n\
         The API key {key} of the keyward service account \"{account}\" expires on {when} ({left}).\n\
         After that, every request made with it is refused.\n\n\
         What to do: rotate the key before then, and give the new secret to the programs that use this one. \
         Rotating makes a new key at once; the old one can keep working for a grace period while you switch \
         over. In keyward: {console}\n\
         Or with the API: POST /api/service-account/v1/service-account/{account_id}/key/{key_id}/rotate\n\n\
         If the key is no longer needed, let it expire or delete it.\n\n\
         -- keyward\n",
        account = p.account_name,
        account_id = p.account_id,
        key_id = p.key_id,
    );
    let html = page(
        &subject,
        &format!(
            "<p>Hello,</p>\
             <p>The API key <strong>{key}</strong> of the keyward service account <strong>{account}</strong> \
             expires on <strong>{when}</strong> ({left}). After that, every request made with it is refused.</p>\
             <p><strong>What to do:</strong> rotate the key before then, and give the new secret to the programs \
             that use this one. Rotating makes a new key at once; the old one can keep working for a grace \
             period while you switch over.</p>\
             <p><a href=\"{console}\">Open the service account in keyward</a></p>\
             <p>Or with the API: <code>POST /api/service-account/v1/service-account/{account_id}/key/{key_id}/rotate\
             </code></p>\
             <p>If the key is no longer needed, let it expire or delete it.</p>",
            key = escape(&key),
            account = escape(&p.account_name),
            console = escape(&console),
            account_id = p.account_id,
            key_id = p.key_id,
        ),
    );
    Rendered { subject, text, html }
}

/// The notice that a key of the account was found leaked.
pub fn key_leaked(p: &LeakPayload, public_url: &str) -> Rendered {
    let key = match &p.key_name {
        Some(name) => format!("\"{name}\" ({})", p.key_id),
        None => p.key_id.to_string(),
    };
    let by = match p.source.as_str() {
        "github" => "GitHub's secret scanning found it in public",
        _ => "someone holding its secret reported it as leaked",
    };
    let where_found = p.url.as_deref().map(|u| format!(" Where it was found: {u}")).unwrap_or_default();
    let state = if p.disabled {
        "keyward disabled it at once: every request made with it is now refused."
    } else {
        "keyward only recorded the report: the key still works until you act."
    };
    let subject = format!("API key {key} of \"{}\" was leaked", p.account_name);
    let console = format!("{public_url}/service-accounts/{}", p.account_id);
    let text = format!(
        "Hello,\n\n\
         The API key {key} of the keyward service account \"{account}\" was reported as leaked on {when}: \
         {by}.{where_found}\n\n\
         {state}\n\n\
         What to do: make a new key for the programs that use this one, and delete the leaked key. Treat \
         anything it could reach as exposed, and look at the organization's audit trail for its recent use. \
         In keyward: {console}\n\n\
         -- keyward\n",
        account = p.account_name,
        when = utc(p.reported),
    );
    let html = page(
        &subject,
        &format!(
            "<p>Hello,</p>\
             <p>The API key <strong>{key}</strong> of the keyward service account <strong>{account}</strong> was \
             reported as leaked on <strong>{when}</strong>: {by}.{where_found}</p>\
             <p><strong>{state}</strong></p>\
             <p><strong>What to do:</strong> make a new key for the programs that use this one, and delete the \
             leaked key. Treat anything it could reach as exposed, and look at the organization's audit trail for \
             its recent use.</p>\
             <p><a href=\"{console}\">Open the service account in keyward</a></p>",
            key = escape(&key),
            account = escape(&p.account_name),
            when = utc(p.reported),
            where_found = escape(&where_found),
            console = escape(&console),
        ),
    );
    Rendered { subject, text, html }
}

/// The notice to an organization's admin that keyward disabled one of its
/// webhook endpoints, whose every attempt failed for days.
pub fn webhook_disabled(p: &WebhookDisabledPayload, org_name: &str, public_url: &str) -> Rendered {
    let url = without_query(&p.url);
    let subject = format!("Webhook endpoint {url} of \"{org_name}\" was disabled");
    let console = format!("{public_url}/webhooks/{}", p.webhook_id);
    let days = (p.disabled - p.failing_since) / 86_400;
    let text = format!(
        "Hello,\n\n\
         keyward disabled the webhook endpoint {url} ({id}) of the organization \"{org_name}\" on {when}: \
         every attempt to deliver to it failed for {days} days, {failures} attempts since {since}.\n\
         The last attempt: {error}\n\n\
         Nothing more is sent to it, and the deliveries still waiting for it are cancelled, until an admin \
         enables it again.\n\n\
         What to do: make sure the receiver answers keyward's POSTs with a 2xx status within a few seconds, \
         then enable the endpoint in keyward: {console}\n\
         Or with the API: PATCH /api/webhook/v1/webhook/{id} with {{\"disabled\": false}}\n\
         If it is no longer needed, delete it.\n\n\
         -- keyward\n",
        id = p.webhook_id,
        when = utc(p.disabled),
        failures = p.failures,
        since = utc(p.failing_since),
        error = p.last_error,
    );
    let html = page(
        &subject,
        &format!(
            "<p>Hello,</p>\
             <p>keyward disabled the webhook endpoint <strong>{url}</strong> (<code>{id}</code>) of the organization \
             <strong>{org}</strong> on <strong>{when}</strong>: every attempt to deliver to it failed for {days} \
             days, {failures} attempts since {since}.</p>\
             <p>The last attempt: {error}</p>\
             <p>Nothing more is sent to it, and the deliveries still waiting for it are cancelled, until an admin \
             enables it again.</p>\
             <p><strong>What to do:</strong> make sure the receiver answers keyward's POSTs with a 2xx status within \
             a few seconds, then enable the endpoint in keyward.</p>\
             <p><a href=\"{console}\">Open the webhook endpoint in keyward</a></p>\
             <p>Or with the API: <code>PATCH /api/webhook/v1/webhook/{id}</code> with \
             <code>{{\"disabled\": false}}</code>. If it is no longer needed, delete it.</p>",
            url = escape(&url),
            id = p.webhook_id,
            org = escape(org_name),
            when = utc(p.disabled),
            failures = p.failures,
            since = utc(p.failing_since),
            error = escape(&p.last_error),
            console = escape(&console),
        ),
    );
    Rendered { subject, text, html }
}

/// An endpoint's URL without its query, which may carry a token of the
/// receiver's: a message travels further than the API's answers.
fn without_query(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.query().is_some() => {
            u.set_query(None);
            format!("{u}?…")
        }
        Ok(u) => u.to_string(),
        Err(_) => raw.to_owned(),
    }
}

/// Addresses `r`: a multipart/alternative message with a stable Message-ID.
pub fn message(from: &Mailbox, to: &str, message_id: String, r: Rendered) -> anyhow::Result<Message> {
    let to: Mailbox = to.parse()?;
    Ok(Message::builder()
        .from(from.clone())
        .to(to)
        .subject(r.subject)
        .message_id(Some(message_id))
        .header(AutoSubmitted)
        .multipart(MultiPart::alternative_plain_html(r.text, r.html))?)
}

/// RFC 3834: a machine wrote this; auto-responders should not answer it.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family: sans-serif; line-height: 1.5; max-width: 40em\">{body}\
         <p style=\"color: #666\">&mdash; keyward</p></body></html>\n",
        escape(title)
    )
}

/// `in 6 days`, `in 5 hours`, `in 12 minutes`.
fn describe_wait(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        s if s >= 2 * 86_400 => format!("in {} days", s / 86_400),
        s if s >= 2 * 3_600 => format!("in {} hours", s / 3_600),
        s => format!("in {} minutes", (s / 60).max(1)),
    }
}

/// `2026-03-01 14:05 UTC`.
pub fn utc(t: UnixTime) -> String {
    crate::domain::clock::utc_minutes(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Id;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn html_is_escaped_and_both_parts_carry_the_link() {
        let r = confirmation("<b>ops</b>", "ops@example.com", "https://k.example/confirm-email?token=a&b", 48);
        assert!(r.html.contains("&lt;b&gt;ops&lt;/b&gt;") && !r.html.contains("<b>ops"));
        assert!(r.html.contains("href=\"https://k.example/confirm-email?token=a&amp;b\""));
        assert!(r.text.contains("https://k.example/confirm-email?token=a&b"));
        assert!(r.subject.contains("<b>ops</b>"));
    }

    #[test]
    fn an_invitation_carries_its_link_and_a_notice_none() {
        let link = "https://k.example/set-password?token=a&b";
        let r = invitation("<Acme>", Role::Editor, link, 7);
        assert!(r.subject.contains("<Acme>") && r.text.contains("an editor") && r.text.contains("7 days"));
        assert!(r.text.contains(link) && r.html.contains("href=\"https://k.example/set-password?token=a&amp;b\""));
        assert!(r.html.contains("&lt;Acme&gt;") && !r.html.contains("<Acme>"));
        let link = "https://k.example/accept-invitation?token=a&org=b";
        let r = accept_invitation("<Acme>", Role::Viewer, link, 7);
        assert!(r.subject.contains("join \"<Acme>\"") && r.text.contains("a viewer") && r.text.contains("7 days"));
        assert!(
            r.text.contains(link) && r.html.contains("href=\"https://k.example/accept-invitation?token=a&amp;org=b\"")
        );
        assert!(r.text.contains("until you accept") && r.html.contains("&lt;Acme&gt;") && !r.html.contains("<Acme>"));
        let r = invitation_notice("Acme", Role::Admin, "https://k.example/login");
        assert!(
            r.subject.contains("Acme") && r.text.contains("an admin") && r.text.contains("https://k.example/login")
        );
        for part in [&r.text, &r.html] {
            assert!(!part.contains("token") && !part.contains("set-password"), "a notice carries no link: {part}");
        }
    }

    #[test]
    fn expiry_warnings_name_the_key_and_say_what_to_do() {
        let p = ExpiryPayload {
            account_id: Id::generate(),
            account_name: "billing".into(),
            key_id: Id::generate(),
            key_name: Some("ci".into()),
            expires: 1_700_000_000 + 3 * 86_400,
            threshold_days: 7,
        };
        let r = key_expiry(&p, 1_700_000_000, "https://k.example");
        assert!(r.subject.contains("\"ci\"") && r.subject.contains("in 3 days"), "{}", r.subject);
        for part in [&r.text, &r.html] {
            assert!(
                part.contains(p.key_id.as_str()) && part.contains("2023-11-17 22:13 UTC") && part.contains("rotate")
            );
        }
    }

    #[test]
    fn a_disabled_endpoint_is_named_without_its_query_and_the_notice_says_what_to_do() {
        let p = WebhookDisabledPayload {
            webhook_id: Id::generate(),
            url: "https://hooks.example.com/k?token=s3cret".into(),
            failing_since: 1_700_000_000,
            failures: 31,
            last_error: "the endpoint answered 500 <Internal>".into(),
            disabled: 1_700_000_000 + 5 * 86_400 + 60,
        };
        let r = webhook_disabled(&p, "<Acme>", "https://k.example");
        assert!(r.subject.contains("https://hooks.example.com/k?…") && r.subject.contains("<Acme>"), "{}", r.subject);
        for part in [&r.subject, &r.text, &r.html] {
            assert!(!part.contains("s3cret"), "the query stays out: {part}");
        }
        for part in [&r.text, &r.html] {
            assert!(part.contains("5 days") && part.contains("31 attempts") && part.contains(p.webhook_id.as_str()));
            assert!(part.contains("https://k.example/webhooks/") && part.contains("enable"));
        }
        assert!(r.html.contains("&lt;Internal&gt;") && !r.html.contains("<Internal>"));
        assert!(r.html.contains("&lt;Acme&gt;"));
    }

    #[test]
    fn messages_are_multipart_alternative_with_the_given_message_id() {
        let from: Mailbox = "keyward <keyward@k.example>".parse().expect("from");
        let r = confirmation("ops", "ops@example.com", "https://k.example/confirm-email?token=t", 48);
        let m = message(&from, "ops@example.com", "<abc@k.example>".into(), r).expect("message");
        let raw = String::from_utf8(m.formatted()).expect("utf-8");
        assert!(raw.contains("Message-ID: <abc@k.example>"), "{raw}");
        assert!(raw.contains("multipart/alternative") && raw.contains("text/plain") && raw.contains("text/html"));
        assert!(raw.contains("Auto-Submitted: auto-generated"));
    }
}
