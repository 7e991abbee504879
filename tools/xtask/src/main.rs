//! Project build steps, run as `cargo xtask <step>` (alias in `.cargo/config.toml`).
//!
//! `components`: builds the guest workspace (`components/`) for `wasm32-unknown-unknown`
//! in release mode, in this repository's one `target/` directory, then turns each core
//! module into a component with `wit-component` (pinned in Cargo.lock, no external tools).
//! Output: `target/components/<task>.wasm`, plus test fixtures under
//! `target/components/testing/` (among them `render-v2.wasm`, render built with its
//! `layout-v2` feature, and `misbehave-presign.wasm` and `misbehave-query.wasm`, misbehave
//! with presign's and query's worlds, in `target/variants/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// (guest crate's library name, output name)
const COMPONENTS: [(&str, &str); 3] = [
    ("cafe_query", "query"),
    ("cafe_render", "render"),
    ("cafe_presign", "presign"),
];
const FIXTURES: [(&str, &str); 1] = [("cafe_misbehave", "misbehave")];
/// Test fixtures built from a task crate with a feature: (package, feature, library name,
/// output name). They build in their own target directory so that switching features
/// never rebuilds the real components.
const VARIANTS: [(&str, &str, &str, &str); 3] = [
    ("cafe-render", "layout-v2", "cafe_render", "render-v2"),
    (
        "cafe-misbehave",
        "presign-world",
        "cafe_misbehave",
        "misbehave-presign",
    ),
    (
        "cafe-misbehave",
        "query-world",
        "cafe_misbehave",
        "misbehave-query",
    ),
];
const TARGET: &str = "wasm32-unknown-unknown";

fn main() -> anyhow::Result<()> {
    let step = std::env::args().nth(1);
    match step.as_deref() {
        Some("components") => build_components(),
        _ => bail!("usage: cargo xtask components"),
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tools/xtask sits two levels below the root")
        .to_path_buf()
}

fn build_components() -> anyhow::Result<()> {
    let root = repo_root();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    run_guest_cargo(&root, &target_dir, &[])?;
    let built = target_dir.join(TARGET).join("release");
    let out = target_dir.join("components");
    for (sets, dir) in [
        (&COMPONENTS[..], out.clone()),
        (&FIXTURES[..], out.join("testing")),
    ] {
        std::fs::create_dir_all(&dir)?;
        for (lib, name) in sets {
            let module = built.join(format!("{lib}.wasm"));
            let dest = dir.join(format!("{name}.wasm"));
            componentize(&module, &dest)?;
            let size = std::fs::metadata(&dest)?.len();
            println!("{:>9} bytes  {}", size, dest.display());
        }
    }

    let variants_dir = target_dir.join("variants");
    for (package, feature, lib, name) in VARIANTS {
        run_guest_cargo(
            &root,
            &variants_dir,
            &["-p", package, "--features", feature],
        )?;
        let module = variants_dir
            .join(TARGET)
            .join("release")
            .join(format!("{lib}.wasm"));
        let dest = out.join("testing").join(format!("{name}.wasm"));
        componentize(&module, &dest)?;
        println!(
            "{:>9} bytes  {}",
            std::fs::metadata(&dest)?.len(),
            dest.display()
        );
    }
    Ok(())
}

/// `cargo build --release` of the guest workspace for wasm32 into `target_dir`.
fn run_guest_cargo(root: &Path, target_dir: &Path, extra: &[&str]) -> anyhow::Result<()> {
    // WASM_CARGO / WASM_RUSTC / WASM_CARGO_ARGS choose another toolchain for the guests only
    // (scripts/wasm-toolchain.sh sets them for Debian's fallback); the host build is untouched.
    let cargo = std::env::var("WASM_CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    if let Ok(rustc) = std::env::var("WASM_RUSTC") {
        // Debian's rustc-web needs nightly flags (-Z build-std) on a stable compiler.
        build.env("RUSTC", rustc).env("RUSTC_BOOTSTRAP", "1");
    }
    build
        .current_dir(root.join("components"))
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(target_dir)
        .args(extra);
    if let Ok(more) = std::env::var("WASM_CARGO_ARGS") {
        build.args(more.split_whitespace());
    }
    let status = build
        .status()
        .context("running cargo for the guest crates")?;
    if !status.success() {
        bail!("building the guest crates failed ({status})");
    }
    Ok(())
}

/// Core module (with wit-bindgen's embedded component type) -> component.
fn componentize(module: &Path, dest: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(module).with_context(|| format!("reading {}", module.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&bytes)
        .with_context(|| format!("{} is not a wit-bindgen module", module.display()))?
        .validate(true)
        .encode()
        .with_context(|| format!("encoding {} as a component", module.display()))?;
    let tmp = dest.with_extension("wasm.tmp");
    std::fs::write(&tmp, component)?;
    std::fs::rename(&tmp, dest)?;
    Ok(())
}
