//! Plays the [`atrs_e2e::store_churn`] sequence against the store in the folder named by
//! its argument, through the host's own store code, until killed: prints `ready` once the
//! store is open, then `done N` after operation N commits.

use std::io::Write;

use atrs_e2e::store_churn;
use atrs_test_host::store::Store;

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .expect("usage: store_writer STORE_DIR");
    let store = Store::open(dir).expect("the store opens");
    let first: u64 = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")
        .and_then(|_| out.flush())
        .expect("stdout");
    for n in first.. {
        store_churn::apply(&store, n).expect("the transaction commits");
        writeln!(out, "done {n}")
            .and_then(|_| out.flush())
            .expect("stdout");
    }
}
