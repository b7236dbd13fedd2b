//! Where the repository is.
//!
//! `cargo xtask` may be run from any directory inside the workspace, so paths
//! are resolved from the xtask crate's own location, never from the cwd.

use std::path::{Path, PathBuf};

/// The workspace root: the parent of this crate's directory.
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}
