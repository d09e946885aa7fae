//! The `Authorization` header as a client sends it: raw, `Bearer`, and
//! `Basic` with its base64 (fed both as given and encoded from the input).
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward::http::auth::parse_authorization;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_authorization(text);
    let _ = parse_authorization(&format!("Bearer {text}"));
    let _ = parse_authorization(&format!("Basic {text}"));
    let _ = parse_authorization(&format!("Basic {}", STANDARD.encode(data)));
});
