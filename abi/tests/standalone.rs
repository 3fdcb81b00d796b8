//! The kernel module compiles premap-abi's source with kbuild, which has no cargo and no crates.io: the
//! crate must build with rustc alone, no feature and no external crate, exactly as kbuild sees it.

use std::process::Command;

#[test]
fn source_builds_with_plain_rustc_and_no_external_crate() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = std::env::temp_dir().join(format!("premap-abi-standalone-{}", std::process::id()));
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let result = Command::new(rustc)
        .args([
            "--edition=2021",
            "--crate-type=rlib",
            "--crate-name=premap_abi",
            "--emit=metadata",
        ])
        .args(["-D", "warnings", "-o"])
        .arg(&out)
        .arg(format!("{dir}/src/lib.rs"))
        .output()
        .expect("run rustc");
    let _ = std::fs::remove_file(&out);
    assert!(
        result.status.success(),
        "premap-abi does not build standalone:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}
