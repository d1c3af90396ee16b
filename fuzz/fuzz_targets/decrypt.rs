//! Decryption of arbitrary bytes with a fixed age identity and a fixed data key: the first
//! byte picks the format, the rest is the file. Every outcome must be `Ok` or an `Error`,
//! never a panic. The fixed data key lets mutated inputs reach the value walk and the MAC
//! check even though their age stanzas will not decrypt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psd_sops::api::{self, DecryptOptions};
use psd_sops::cipher::DataKey;
use psd_sops::{Format, Identities, Metadata, StoreOptions, store_for};

/// A throwaway identity made for fuzzing only (its recipient is in the seed corpus).
const KEY: &str = "AGE-SECRET-KEY-166EZ4UT45V243MGTQ7JFEYVMQ73W9VSDHLDYS5A50PNHVEF7C8RSTFZ2V3";

const FORMATS: [Format; 5] = [
    Format::Yaml,
    Format::Json,
    Format::Dotenv,
    Format::Ini,
    Format::Binary,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(selector) % FORMATS.len()];
    let Ok(identities) = Identities::parse_key_file(KEY) else {
        return;
    };
    let _ = api::decrypt(file, format, &identities, &DecryptOptions::default());
    let _ = api::metadata(file, format);
    let _ = api::is_encrypted(file, format);
    if let Ok((mut tree, meta)) = store_for(format, StoreOptions::default()).load_encrypted(file)
        && let Ok(metadata) = Metadata::from_value(&meta)
        && let Some(key) = DataKey::from_slice(&[7u8; 32])
    {
        let _ = api::decrypt_with_key(&mut tree, &metadata, &key, false);
    }
});
