//! The key format: any text, and any text after the `kw_` prefix, must parse
//! or be refused without panicking; what parses must hash and re-parse alike.
#![no_main]

use keyward::domain::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for candidate in [text.to_owned(), format!("kw_{text}")] {
        if let Ok(secret) = Secret::parse(&candidate) {
            assert_eq!(secret.expose(), candidate);
            let again = Secret::parse(secret.expose()).expect("a parsed key parses again");
            assert_eq!(again.hash(), secret.hash());
        }
    }
});
