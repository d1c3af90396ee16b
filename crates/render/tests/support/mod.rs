//! Helpers shared by the integration tests of `psd-render`; a test file uses them with
//! `mod support;`.

// Each test binary compiles this whole module but uses only part of it.
#![allow(dead_code)]

pub mod live;
