#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS, 30 by default) on the
# nightly toolchain; CI calls this. New inputs libFuzzer finds go to target/fuzz/corpus
# (the seeds in tests/fuzz/corpus stay as committed); a crash stops the run, leaves
# the input in target/fuzz/artifacts/TARGET/ and fails the script.
#
#   tests/fuzz/run.sh               every target, 30 s each
#   FUZZ_SECONDS=300 tests/fuzz/run.sh paste preflight
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${FUZZ_SECONDS:-30}"
fuzz_dir=tests/fuzz
out=target/fuzz
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir "$fuzz_dir")
fi
for target in "${targets[@]}"; do
  echo "== fuzz $target (${seconds} s)"
  mkdir -p "$out/corpus/$target" "$out/artifacts/$target"
  cargo +nightly fuzz run --fuzz-dir "$fuzz_dir" --target-dir "$out" \
    --sanitizer none --release --debug-assertions \
    "$target" "$out/corpus/$target" "$fuzz_dir/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/artifacts/$target/" -print_final_stats=1
done
