//! Paging cursors come back from clients: anything not issued by keyward for
//! that listing is refused, and what it issues round-trips.
#![no_main]

use keyward::domain::Id;
use keyward::http::extract::cursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(Some(position)) = cursor::decode("sa", Some(text)) {
        assert!(Id::parse(position.as_str()).is_some());
        let again = cursor::decode("sa", Some(&cursor::encode("sa", &position))).expect("own cursor");
        assert_eq!(again, Some(position));
    }
    let _ = cursor::decode("audit", Some(text));
});
