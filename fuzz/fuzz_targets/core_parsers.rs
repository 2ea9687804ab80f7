//! Any text into every parser of runway-core: a PBX address, an address range, an email
//! address, a CA certificate, a PBX date, a time zone, a renewal template, reminder days, a
//! login kind. Never a panic; what is accepted reads back to itself (checked as assertions, so
//! a violation is a crash too).

#![no_main]

use libfuzzer_sys::fuzz_target;
use runway_core::{
    BaseUrl, Cidr, LoginKind, ReminderPolicy, RenewalTemplate, Zone, check_ca_pem, check_email,
    is_no_date, parse_pbx_instant,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = BaseUrl::parse(text) {
        assert_eq!(BaseUrl::parse(&url.to_string()).as_ref(), Ok(&url));
    }
    if let Ok(cidr) = Cidr::parse(text) {
        assert_eq!(Cidr::parse(&cidr.to_string()), Ok(cidr));
    }
    let _ = Cidr::parse_list(text);
    if let Ok(email) = check_email(text) {
        assert_eq!(check_email(&email).as_ref(), Ok(&email));
    }
    if let Ok(Some(pem)) = check_ca_pem(text) {
        assert_eq!(check_ca_pem(&pem), Ok(Some(pem.clone())));
    }
    if let Ok(Some(instant)) = parse_pbx_instant(text) {
        assert!(!is_no_date(instant));
        assert_eq!(parse_pbx_instant(&instant.to_string()), Ok(Some(instant)));
    }
    if let Ok(zone) = Zone::parse(text) {
        assert_eq!(
            Zone::parse(zone.name()).map(|z| z.name().to_owned()),
            Ok(zone.name().to_owned())
        );
    }
    if let Ok(template) = RenewalTemplate::parse(text) {
        let link = template.link(text, Some(text));
        assert!(!link.contains(['{', '}']));
    }
    let days: Vec<u16> = data
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    let _ = ReminderPolicy::from_days(&days, true);
    let _ = text.parse::<LoginKind>();
});
