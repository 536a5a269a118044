//! Structure-aware: arbitrary names, addresses, ports, versions, paths, filters and secret
//! values spliced into a valid two-site topology, then parse → validate → render.
//! Most inputs stay parseable YAML, so the rules and renderers see hostile values.
#![no_main]

use harbor_ha_fuzz::structured::{text, Input};
use harbor_ha_fuzz::{run, FuzzResolver};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: Input| {
    let yaml = text(&input.edits);
    let _ = run(&yaml, &FuzzResolver { values: input.secrets });
});
