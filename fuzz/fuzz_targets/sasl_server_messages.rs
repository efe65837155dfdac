//! The SASL mechanisms' handling of what a broker sends: SCRAM-SHA-256/512's server-first and server-final and
//! OAUTHBEARER's answers never panic, whatever the bytes. The first input byte picks the mechanism; the rest is
//! split at the first 0x00 into the first and the second server message.

#![no_main]

use kafkar_protocol::sasl::{OAuthBearerClient, SaslMechanism, ScramClient, ScramHash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let (first, second) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut mechanism: Box<dyn SaslMechanism> = match selector % 3 {
        // A small maximum keeps a run from spending its time in PBKDF2 when the input happens to be valid.
        0 => Box::new(ScramClient::new(ScramHash::Sha256, "user", "pencil", "abc").with_max_iterations(4096)),
        1 => Box::new(ScramClient::new(ScramHash::Sha512, "user", "pencil", "abc").with_max_iterations(4096)),
        _ => Box::new(OAuthBearerClient::new("a.b.c", vec![]).expect("a valid token")),
    };
    mechanism.initial_response().expect("initial response");
    if mechanism.step(first).is_ok() {
        let _ = mechanism.step(second);
    }
});
