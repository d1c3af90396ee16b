//! The dotenv store's parsers on arbitrary bytes: plain and encrypted loading must return
//! `Ok` or an `Error`, never panic. What the store emits for a plain document it loaded must
//! load again (a panic here too); an encrypted document that loads is emitted again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psd_sops::Format;

fuzz_target!(|data: &[u8]| psd_fuzz::store_round_trip(Format::Dotenv, data, true));
