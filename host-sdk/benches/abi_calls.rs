//! What crossing the ABI costs: the same integration called directly, through the
//! `abi_stable` trait objects and panic guards a host uses (`abi`, bounded by the call
//! timeout, so on a worker thread), and through them without a timeout (`abi_unbounded`,
//! on the caller's thread: the cost of the boundary alone).
//!
//! `cargo bench -p atrs-host-sdk --bench abi_calls`

use atrs_host_sdk::{
    loader, testing::MemoryHost, FieldError, FieldKind, FixedSession, FormField, FormValues, Host,
    Integration, Manifest, PluginError, SessionState, VerificationSession, VerifyMethod,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;

/// A small integration with a realistic form (seven fields) and a cheap validation.
struct Bench;

impl Integration for Bench {
    fn manifest() -> Manifest {
        Manifest::new("bench", "Bench", "1.0.0", "Bench", "Measures calls.")
    }
    fn new(_host: Host) -> Result<Self, PluginError> {
        Ok(Bench)
    }
    fn describe(&self) -> Vec<FormField> {
        (0..7)
            .map(|i| FormField::new(format!("field_{i}"), format!("Field {i}"), FieldKind::Text))
            .collect()
    }
    fn validate(&self, values: &FormValues) -> Vec<FieldError> {
        values
            .iter()
            .filter(|v| v.value().is_empty())
            .map(|v| FieldError::new(v.key(), "empty"))
            .collect()
    }
    fn start_verification(
        &mut self,
        _values: &FormValues,
        _method: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        Ok(Box::new(FixedSession::new(SessionState::Working {
            message: "x".into(),
        })))
    }
    fn save(&mut self, _values: &FormValues) -> Result<(), PluginError> {
        Ok(())
    }
}

fn values() -> FormValues {
    let mut v = FormValues::new();
    for i in 0..7 {
        v.set(format!("field_{i}"), if i == 3 { "" } else { "some value" });
    }
    v
}

fn calls(c: &mut Criterion) {
    let direct = Bench::new(MemoryHost::new().handle()).unwrap();
    let mut through_abi = loader::instantiate_in_process::<Bench>(MemoryHost::new()).unwrap();
    let mut unbounded = loader::instantiate_in_process::<Bench>(MemoryHost::new()).unwrap();
    unbounded.set_call_timeout(None);
    let values = values();
    c.bench_function("describe/direct", |b| {
        b.iter(|| black_box(direct.describe()))
    });
    c.bench_function("describe/abi", |b| {
        b.iter(|| black_box(through_abi.describe().unwrap()))
    });
    c.bench_function("describe/abi_unbounded", |b| {
        b.iter(|| black_box(unbounded.describe().unwrap()))
    });
    c.bench_function("validate/direct", |b| {
        b.iter(|| black_box(direct.validate(&values)))
    });
    c.bench_function("validate/abi", |b| {
        b.iter(|| black_box(through_abi.validate(&values).unwrap()))
    });
    c.bench_function("validate/abi_unbounded", |b| {
        b.iter(|| black_box(unbounded.validate(&values).unwrap()))
    });
    let fixed = FixedSession::new(SessionState::Working {
        message: "x".into(),
    });
    c.bench_function("session_poll/direct", |b| {
        b.iter(|| black_box(fixed.poll(Duration::ZERO)))
    });
    let session = through_abi
        .start_verification(&values, VerifyMethod::DeviceCode)
        .unwrap();
    c.bench_function("session_poll/abi", |b| {
        b.iter(|| black_box(session.poll(Duration::ZERO)))
    });
    let session = unbounded
        .start_verification(&values, VerifyMethod::DeviceCode)
        .unwrap();
    c.bench_function("session_poll/abi_unbounded", |b| {
        b.iter(|| black_box(session.poll(Duration::ZERO)))
    });
}

criterion_group!(benches, calls);
criterion_main!(benches);
