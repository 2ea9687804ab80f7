//! Whatever answers at a PBX's address, into every parser of the PBX client: the three logins,
//! a v20 read (five answers), a legacy read, a status. Never a panic; a reading's facts go
//! through the license rules too.

#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use runway_core::{LicenseStatus, Timestamp, Zone};
use runway_threecx::fuzzing::{self, RawAnswer, XapiAnswers};

#[derive(Debug, Arbitrary)]
struct Answer {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl From<Answer> for RawAnswer {
    fn from(a: Answer) -> RawAnswer {
        RawAnswer {
            status: a.status,
            headers: a.headers,
            body: a.body,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Input {
    ApiClientLogin(Answer),
    UserLogin(Answer, bool),
    LegacyLogin(Answer),
    Xapi(Answer, Answer, Answer, Answer, Answer),
    Legacy(Answer),
    Status(Answer, String),
    Version(Option<String>),
}

fn reading(result: Result<runway_threecx::LicenseReading, runway_threecx::ReadError>) {
    match result {
        Ok(reading) => {
            let facts = &reading.facts;
            for now in [Timestamp::MIN, Timestamp::UNIX_EPOCH, Timestamp::MAX] {
                let _ = LicenseStatus::evaluate(Some(facts), now, &Zone::utc());
            }
            let _ = (facts.edition.to_string(), reading.raw.to_string());
        }
        Err(err) => {
            let _ = (err.to_string(), err.kind());
        }
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::ApiClientLogin(a) => {
            let _ = fuzzing::api_client_login(&a.into()).map_err(|e| e.to_string());
        }
        Input::UserLogin(a, totp) => {
            let _ = fuzzing::user_login(&a.into(), totp).map_err(|e| e.to_string());
        }
        Input::LegacyLogin(a) => {
            let _ = fuzzing::legacy_login(&a.into()).map_err(|e| e.to_string());
        }
        Input::Xapi(system_status, license_status, parameters, ai_count, ai_list) => {
            reading(fuzzing::xapi_reading(&XapiAnswers {
                system_status: system_status.into(),
                license_status: license_status.into(),
                parameters: parameters.into(),
                ai_count: ai_count.into(),
                ai_list: ai_list.into(),
            }));
        }
        Input::Legacy(a) => reading(fuzzing::legacy_reading(&a.into())),
        Input::Status(a, endpoint) => {
            let a: RawAnswer = a.into();
            let _ = fuzzing::check_status(&a, &endpoint).map_err(|e| e.to_string());
            let _ = fuzzing::describe_body(&a.body);
        }
        Input::Version(version) => {
            let _ = fuzzing::has_ai_agents(version.as_deref());
        }
    }
});
