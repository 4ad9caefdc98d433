//! What the benchmarks share.

/// CPU seconds this process has used (user + system).
pub fn cpu_seconds() -> f64 {
    pilot_nats_harness::cpu_seconds("self")
}
