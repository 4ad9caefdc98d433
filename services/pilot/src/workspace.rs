//! Finding the workspace's own files (the nats-server install script) from where `pilot`
//! runs: the current directory or one above it, else the workspace the executable was built
//! in (`target/debug/pilot` lies below the workspace root). Outside a checkout there is none,
//! and pilot does without ([`crate::nats_binary`]).

use std::path::{Path, PathBuf};

/// The nats-server install script, relative to the workspace root.
pub const INSTALL_SCRIPT: &str = "scripts/install-nats-server.sh";

/// `relative` below one of `starts` or their ancestors, searched in order. `Err` lists every
/// start that was searched.
pub fn find_from<'a>(
    relative: &str,
    starts: impl IntoIterator<Item = &'a Path>,
) -> Result<PathBuf, NotFound> {
    let starts: Vec<&Path> = starts.into_iter().collect();
    starts
        .iter()
        .flat_map(|start| start.ancestors())
        .map(|dir| dir.join(relative))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| NotFound {
            relative: relative.to_string(),
            searched: starts.iter().map(|s| s.to_path_buf()).collect(),
        })
}

/// A workspace file that is in none of the searched directories.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot find {relative} in {} or any directory above; run pilot from the pilot-tracker \
     workspace",
    searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" or ")
)]
pub struct NotFound {
    pub relative: String,
    pub searched: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_file_in_an_ancestor() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("scripts")).unwrap();
        std::fs::create_dir_all(root.path().join("a/b")).unwrap();
        std::fs::write(root.path().join(INSTALL_SCRIPT), "#!/bin/sh\n").unwrap();
        let found = find_from(INSTALL_SCRIPT, [root.path().join("a/b").as_path()]).unwrap();
        assert_eq!(found, root.path().join(INSTALL_SCRIPT));
    }

    #[test]
    fn names_every_searched_directory_when_missing() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        let error = find_from("no/such/file", [one.path(), two.path()]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("no/such/file"), "{message}");
        assert!(message.contains(&one.path().display().to_string()));
        assert!(message.contains(&two.path().display().to_string()));
    }

    #[test]
    fn finds_the_real_install_script_from_the_crate() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(find_from(INSTALL_SCRIPT, [here]).is_ok());
    }
}
