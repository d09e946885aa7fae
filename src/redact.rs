//! What a log line or an error may show of a configured address.

/// A URL fit for a log line: any password replaced.
pub fn url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:<redacted>{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(url("postgres://u:pw@h:5432/db"), "postgres://u:<redacted>@h:5432/db");
        assert_eq!(url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(url("sqlite://keyward.db"), "sqlite://keyward.db");
        assert_eq!(url("smtp://user:secret@mail.example:587"), "smtp://user:<redacted>@mail.example:587");
    }
}
