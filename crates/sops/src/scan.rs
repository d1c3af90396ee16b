//! Byte scanning for the multi-megabyte strings of binary files (13 MB of base64 for 10 MB).

/// Length of the leading run of `s` in which `special` is false for every byte.
///
/// Checks 16 bytes at a time with a branch-free fold, which the compiler turns into vector
/// compares, then finds the exact byte in the chunk that has one. `special` must be cheap and
/// branch-free (combine tests with `|`, not `||`).
pub(crate) fn run_until(s: &[u8], special: impl Fn(u8) -> bool + Copy) -> usize {
    let mut i = 0;
    for chunk in s.chunks_exact(16) {
        if chunk.iter().fold(false, |acc, &b| acc | special(b)) {
            break;
        }
        i += 16;
    }
    i + s[i..]
        .iter()
        .position(|&b| special(b))
        .unwrap_or(s.len() - i)
}

/// Not a byte of the standard base64 alphabet (padding included).
pub(crate) fn not_base64(b: u8) -> bool {
    !(b.is_ascii_uppercase()
        | b.is_ascii_lowercase()
        | b.is_ascii_digit()
        | (b == b'+')
        | (b == b'/')
        | (b == b'='))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn same_as_position(s in proptest::collection::vec(any::<u8>(), 0..80), at in 0usize..80) {
            let mut s = s;
            // Mostly-ordinary input with at most one special byte, anywhere.
            for b in s.iter_mut() { if not_base64(*b) { *b = b'A'; } }
            if at < s.len() { s[at] = b','; }
            let want = s.iter().position(|&b| not_base64(b)).unwrap_or(s.len());
            prop_assert_eq!(run_until(&s, not_base64), want);
        }
    }
}
