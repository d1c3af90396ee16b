use super::*;
use crate::api::EncryptOptions;

fn pair() -> (Identities, Recipient) {
    let (text, r) = key();
    (Identities::parse_key_file(&text).unwrap(), r)
}

fn key() -> (String, Recipient) {
    let id = age::x25519::Identity::generate();
    let text = format!(
        "{}\n",
        secrecy::ExposeSecret::expose_secret(&id.to_string())
    );
    (text, id.to_public().to_string().parse().unwrap())
}

fn enc(doc: &str, groups: Vec<Vec<Recipient>>, threshold: Option<usize>) -> Vec<u8> {
    let mut o = EncryptOptions::new(Vec::new());
    o.key_groups = groups;
    o.shamir_threshold = threshold;
    api::encrypt(doc.as_bytes(), Format::Yaml, &o).unwrap()
}

fn plain(bytes: &[u8], ids: &Identities) -> String {
    let d = api::decrypt(bytes, Format::Yaml, ids, &DecryptOptions::default()).unwrap();
    String::from_utf8(d.plain.to_vec()).unwrap()
}

fn meta(bytes: &[u8]) -> Metadata {
    api::metadata(bytes, Format::Yaml).unwrap()
}

#[test]
fn update_keys_adds_and_removes_recipients_and_keeps_the_rest() {
    let ((ia, a), (ib, b), (ic, c)) = (pair(), pair(), pair());
    let old = enc("k: v\nnum: 1\n", vec![vec![a.clone(), b.clone()]], None);
    let wanted = vec![vec![a.clone(), c.clone()]];
    let d = diff_groups(&meta(&old), &[vec![a.to_string(), c.to_string()]]);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].common, [a.to_string()]);
    assert_eq!(d[0].added, [c.to_string()]);
    assert_eq!(d[0].removed, [b.to_string()]);
    assert!(d[0].changes());

    let new = update_keys(&old, Format::Yaml, StoreOptions::default(), &ib, &wanted, 0).unwrap();
    // c can open it now, b cannot, a still can; the document is the same.
    assert_eq!(plain(&new, &ic), "k: v\nnum: 1\n");
    assert_eq!(plain(&new, &ia), "k: v\nnum: 1\n");
    assert!(api::decrypt(&new, Format::Yaml, &ib, &DecryptOptions::default()).is_err());
    // Values, MAC, lastmodified and a's wrapped key are unchanged.
    let (m_old, m_new) = (meta(&old), meta(&new));
    assert_eq!(
        (&m_old.mac, &m_old.lastmodified),
        (&m_new.mac, &m_new.lastmodified)
    );
    assert_eq!(m_old.key_groups[0].age[0], m_new.key_groups[0].age[0]);
    let data = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(data(&old), data(&new));
    // Nothing to change: no difference.
    let d = diff_groups(&m_new, &[vec![a.to_string(), c.to_string()]]);
    assert!(!d[0].changes());
}

#[test]
fn update_keys_to_shamir_groups_and_back() {
    let ((ta, a), (tb, b), (tc, c)) = (key(), key(), key());
    let id = |t: &str| Identities::parse_key_file(t).unwrap();
    let (ia, ib) = (id(&ta), id(&tb));
    let old = enc("k: v\n", vec![vec![a.clone()]], None);
    let two = vec![vec![a.clone()], vec![b.clone(), c.clone()]];
    assert_eq!(updated_threshold(&meta(&old), 0, 2), 0);
    let split = update_keys(&old, Format::Yaml, StoreOptions::default(), &ia, &two, 2).unwrap();
    assert_eq!(meta(&split).shamir_threshold, 2);
    // One group's key alone no longer opens it; a and c together do.
    assert!(api::decrypt(&split, Format::Yaml, &ia, &DecryptOptions::default()).is_err());
    let both = id(&format!("{ta}{tc}"));
    assert_eq!(plain(&split, &both), "k: v\n");
    let back = update_keys(
        &split,
        Format::Yaml,
        StoreOptions::default(),
        &both,
        &[vec![b.clone()]],
        0,
    )
    .unwrap();
    assert_eq!(plain(&back, &ib), "k: v\n");
    assert_eq!(meta(&back).shamir_threshold, 0);
    // Without a key that opens it: the data key error.
    let e = update_keys(&old, Format::Yaml, StoreOptions::default(), &ib, &two, 2).unwrap_err();
    assert_eq!(e.exit_code(), crate::error::exit::COULD_NOT_RETRIEVE_KEY);
}

#[test]
fn rotate_makes_a_new_data_key_and_new_ciphertexts() {
    let ((ia, a), (ib, b), (_ic, c)) = (pair(), pair(), pair());
    let old = enc(
        "k: v\nlist: [1, two]\n",
        vec![vec![a.clone(), c.clone()]],
        None,
    );
    let new = rotate(
        &old,
        Format::Yaml,
        StoreOptions::default(),
        &ia,
        &DecryptOptions::default(),
        std::slice::from_ref(&b),
        &[c.to_string()],
    )
    .unwrap();
    assert_eq!(plain(&new, &ib), plain(&old, &ia));
    let m = meta(&new);
    let rs: Vec<&str> = m.recipients().collect();
    assert_eq!(rs, [a.as_str(), b.as_str()]);
    // Every value line differs (new data key), the structure is the same.
    let lines = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .take(4)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for (o, n) in lines(&old).iter().zip(lines(&new)) {
        if o.contains("ENC[") {
            assert_ne!(*o, n);
        }
    }
    // Removing every recipient is refused, nothing is written.
    let e = rotate(
        &new,
        Format::Yaml,
        StoreOptions::default(),
        &ia,
        &DecryptOptions::default(),
        &[],
        &[a.to_string(), b.to_string()],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), crate::error::exit::GENERIC);
}
