//! Secrets for the command line: read from a file or an environment variable, never from an
//! argument (arguments are visible to every user of the machine in the process list).

use std::path::Path;

use anyhow::{Context, bail};
use runway_threecx::Secret;

/// Reads a secret from `file` or the environment variable `env`, whichever is given.
pub(crate) fn read_secret(
    what: &str,
    file: Option<&Path>,
    env: Option<&str>,
) -> anyhow::Result<Option<Secret>> {
    match (file, env) {
        (Some(_), Some(_)) => {
            bail!("give the {what} either from a file or from a variable, not both")
        }
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the {what} from {}", path.display()))?;
            let value = text.trim_end_matches(['\r', '\n']);
            if value.is_empty() {
                bail!("the {what} file {} is empty", path.display());
            }
            Ok(Some(Secret::new(value)))
        }
        (None, Some(name)) => {
            let value = std::env::var(name)
                .with_context(|| format!("the {what} variable {name} is not set"))?;
            if value.is_empty() {
                bail!("the {what} variable {name} is empty");
            }
            Ok(Some(Secret::new(value)))
        }
        (None, None) => Ok(None),
    }
}
