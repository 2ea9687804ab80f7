//! Any bytes as the JSON body of each API call that takes one, read as the handlers read them
//! and checked as they check them. Never a panic; a refusal is always a 422.

#![no_main]

use libfuzzer_sys::fuzz_target;
use runway_fuzz::{FIXTURE, zone};
use runway_store::TenantSettings;
use runway_web::WebError;
use runway_web::api::account::TokenInput;
use runway_web::api::customers::CustomerInput;
use runway_web::api::instances::BulkInput;
use runway_web::edit::{InstanceDraft, SettingsDraft};
use runway_web::fuzzing;

fn refused(err: &WebError) {
    assert!(matches!(err, WebError::Invalid(_)), "{err:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((pick, body)) = data.split_first() else {
        return;
    };
    match pick % 5 {
        0 => match fuzzing::api_body::<InstanceDraft>(body) {
            Ok(draft) => FIXTURE.check_instance(&draft, &zone(pick / 5)),
            Err(err) => refused(&err),
        },
        1 => match fuzzing::api_body::<SettingsDraft>(body) {
            Ok(draft) => {
                let _ = fuzzing::check_settings(&draft, &TenantSettings::new("Fuzz MSP"));
            }
            Err(err) => refused(&err),
        },
        2 => match fuzzing::api_body::<BulkInput>(body) {
            Ok(input) => {
                let _ = fuzzing::bulk_trigger(&input);
            }
            Err(err) => refused(&err),
        },
        3 => {
            if let Err(err) = fuzzing::api_body::<CustomerInput>(body) {
                refused(&err);
            }
        }
        _ => {
            if let Err(err) = fuzzing::api_body::<TokenInput>(body) {
                refused(&err);
            }
        }
    }
});
