//! Arbitrary bytes → parse → validate → render. Zero panics allowed.
#![no_main]

use harbor_ha_fuzz::{run, FuzzResolver};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = run(&text, &FuzzResolver { values: Vec::new() });
});
