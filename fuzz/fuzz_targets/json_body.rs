//! Every JSON request body, through the same rules the endpoints apply
//! (content type, JSON, an object, known fields, types), and the answer it
//! would give: a refusal is always a 4xx naming what is wrong.
#![no_main]

use keyward::http::api::{accounts, keys, session, setup, users};
use keyward::http::extract::parse_json_body;
use libfuzzer_sys::fuzz_target;

fn check<T: serde::de::DeserializeOwned>(bytes: &[u8]) {
    if let Err(refused) = parse_json_body::<T>(Some("application/json"), bytes) {
        assert!(refused.status().is_client_error(), "{refused:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    check::<accounts::CreateServiceAccount>(data);
    check::<accounts::UpdateServiceAccount>(data);
    check::<keys::CreateKey>(data);
    check::<keys::UpdateKey>(data);
    check::<keys::RotateKey>(data);
    check::<users::InviteUser>(data);
    check::<users::UpdateUser>(data);
    check::<session::Login>(data);
    check::<session::SetPassword>(data);
    check::<setup::Setup>(data);
    let _ = parse_json_body::<keys::CreateKey>(None, data);
});
