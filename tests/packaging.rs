//! Packaging checks that need no Docker engine: the Dockerfile's build stage copies
//! everything cargo needs to read the manifest (every declared target, the
//! benchmarks included), so `docker build` does not stop at the first cargo call.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The sources of the `COPY` lines of the Dockerfile's first stage (the build).
fn build_stage_copies(dockerfile: &str) -> Vec<String> {
    let mut sources = Vec::new();
    let mut stages = 0;
    for line in dockerfile.lines().map(str::trim) {
        if line.starts_with("FROM ") {
            stages += 1;
            if stages > 1 {
                break;
            }
        }
        if let Some(rest) = line.strip_prefix("COPY ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            assert!(
                !words.iter().any(|w| w.starts_with("--")),
                "unexpected COPY flag in the build stage: {line}"
            );
            // The last word is the destination; the ones before it are sources.
            let (_destination, from) = words.split_last().expect("COPY has arguments");
            assert!(!from.is_empty(), "COPY without a source: {line}");
            sources.extend(from.iter().map(|s| s.to_string()));
        }
    }
    sources
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {} failed: {e}", from.display()));
    }
}

#[test]
fn docker_build_stage_copies_what_cargo_needs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let sources = build_stage_copies(&dockerfile);
    assert!(
        sources.iter().any(|s| s == "Cargo.toml"),
        "the build stage copies no Cargo.toml: {sources:?}"
    );

    let context = std::env::temp_dir().join(format!("broker-docker-ctx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context).unwrap();
    for source in &sources {
        copy_tree(&root.join(source), &context.join(source));
    }
    // `cargo fetch` parses the whole manifest, as `cargo build` does first, and
    // checks every declared target; offline it needs nothing new from the network.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["fetch", "--offline", "--locked"])
        .arg("--manifest-path")
        .arg(context.join("Cargo.toml"))
        .output()
        .expect("run cargo fetch");
    let _ = std::fs::remove_dir_all(&context);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A crate missing from an offline cache is not what this test is about; a
    // manifest cargo cannot read is.
    assert!(
        !stderr.contains("failed to parse manifest"),
        "cargo cannot read the manifest with only {sources:?} copied:\n{stderr}"
    );
}
