//! `pilot completions SHELL` and `pilot man [--dir DIR]`: shell completions (clap_complete)
//! and manual pages (clap_mangen), both generated from the command line itself so that they
//! never disagree with it. The command line is handed in ([`crate::cli::Cli`]'s), so this
//! module does not depend on the one that declares it.

use clap::Args;
use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// The program name the completions and pages are for.
const BIN_NAME: &str = "pilot";

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for (bash, zsh, fish, elvish, powershell).
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write a page per command (`pilot.1`, `pilot-serve.1`, ...) into this directory
    /// instead of printing `pilot.1` on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("cannot render the manual page: {0}")]
    Render(#[source] std::io::Error),
    #[error("cannot write the manual pages into {dir}: {source}")]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The completion script for `args.shell`: what to put in the shell's completion directory
/// (e.g. `pilot completions bash > /etc/bash_completion.d/pilot`).
pub fn completions(args: &CompletionsArgs, mut command: clap::Command) -> String {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, BIN_NAME, &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// The top page as roff on stdout, or with `--dir` every page written there; answers what to
/// print.
pub fn man(args: &ManArgs, command: clap::Command) -> Result<String, DocsError> {
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(DocsError::Render)?;
            Ok(String::from_utf8_lossy(&page).into_owned())
        }
        Some(dir) => {
            let failed = |source| DocsError::Write {
                dir: dir.clone(),
                source,
            };
            std::fs::create_dir_all(dir).map_err(failed)?;
            clap_mangen::generate_to(command, dir).map_err(failed)?;
            Ok(format!(
                "wrote {} pages into {}\n",
                pages(dir),
                dir.display()
            ))
        }
    }
}

/// How many `.1` pages `dir` holds.
fn pages(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "1"))
            .count()
    })
}
