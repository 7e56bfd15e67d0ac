//! Whether this host has procfs, which every metric but the `ps` fallback reads.

use std::path::Path;

/// Whether `/proc` is mounted (as seen from this process).
pub(super) fn procfs_mounted() -> bool {
    Path::new("/proc/self/stat").exists()
}
