//! An RFC 7523 assertion as posted to the token endpoint: reading its header
//! and verifying it must refuse junk without panicking.
#![no_main]

use keyward::service::tokens::{assertion_key_id, verify_assertion};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = assertion_key_id(text);
    let _ = verify_assertion(text, &[7u8; 32], "http://127.0.0.1:8080/api/auth/v1/oauth/token");
});
