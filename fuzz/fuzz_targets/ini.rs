//! The ini store's parsers on arbitrary bytes: plain and encrypted loading must return
//! `Ok` or an `Error`, never panic. A plain document that loads is emitted and loaded again,
//! and an encrypted one is emitted again. Unlike the other stores, the reload may fail:
//! go-ini's writer is lossy (a value starting with a newline is written as `"""` + newline,
//! which go-ini, and so sops and this store, read back as a literal `"""`), and that is kept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psd_sops::Format;

fuzz_target!(|data: &[u8]| psd_fuzz::store_round_trip(Format::Ini, data, false));
