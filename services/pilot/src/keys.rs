//! `pilot keys`: prints the public half of the service's signing key, the line a keys file
//! for `pilot verify --keys` holds. It reads the key and never creates one.

use crate::config::SIGNING_KEY_FILE;
use pilot_store::signing::{EventSigner, KeyError};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct KeysArgs {
    /// The data directory whose `signing.key` to read.
    #[arg(long, value_name = "DIR", env = "PILOT_DATA_DIR", default_value = crate::config::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// The signing key file itself, when the configuration names one (`signing_key_file`).
    #[arg(long, value_name = "FILE")]
    pub signing_key_file: Option<PathBuf>,
}

/// The keys-file line of the key, with a comment that says where it came from.
pub fn run(args: &KeysArgs) -> Result<String, KeyError> {
    let path = args
        .signing_key_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join(SIGNING_KEY_FILE));
    let signer = EventSigner::load(&path)?;
    Ok(format!(
        "# pilot-tracker signing key {} ({})\n{}\n",
        signer.key_id(),
        path.display(),
        signer.public_line()
    ))
}
