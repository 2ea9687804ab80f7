//! Any bytes as a urlencoded form body: read as the pages read forms, as the instance form, and
//! the draft checked as a new instance would be (against a store). Never a panic; an accepted
//! draft keeps the documented limits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use runway_fuzz::{FIXTURE, zone};
use runway_web::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some((pick, body)) = data.split_first() else {
        return;
    };
    let _ = fuzzing::form_fields(body, &["name", "secret", "accept_invalid_certs", "ids"]);
    if let Ok(draft) = fuzzing::instance_form(body) {
        FIXTURE.check_instance(&draft, &zone(*pick));
    }
});
