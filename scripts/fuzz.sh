#!/usr/bin/env bash
# Runs the libFuzzer targets in fuzz/ for a bounded time each (default 30 s; FUZZ_SECONDS
# overrides, FUZZ_TARGETS picks targets). Installs the pinned cargo-fuzz into target/tools.
# The machine's toolchain is stable; cargo-fuzz needs `-Zsanitizer`, which
# RUSTC_BOOTSTRAP=1 allows on stable (the sanitizer runtimes ship with stable's std).
# Each run starts from fuzz/seeds/<target> and fuzz/regressions/<target> (every crash found
# so far, kept so it is replayed first) and grows fuzz/corpus/<target> (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_FUZZ_VERSION=0.13.2
seconds=${FUZZ_SECONDS:-30}
targets=${FUZZ_TARGETS:-"asl_definition jsonpath_intrinsics task_input"}
tools=target/tools
if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$tools"
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
for target in $targets; do
    mkdir -p "corpus/$target" "regressions/$target"
    echo "fuzzing $target for ${seconds}s"
    # -timeout: one input running over 10 s counts as a hang (a crash); -rss_limit_mb: as a leak.
    "../$tools/bin/cargo-fuzz" run --target-dir ../target/fuzz "$target" \
        "corpus/$target" "seeds/$target" "regressions/$target" \
        -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        2>&1 | grep -v -E '^(#[0-9]|\s+NEW_FUNC)' # progress lines; crashes and final stats stay
done
