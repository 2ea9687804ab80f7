//! What can go wrong when the engine is asked to read an instance.

use runway_store::StoreError;
use runway_threecx::{ReadError, TargetError};

/// A read the engine could not perform or record. (A PBX that fails to answer is not an
/// `EngineError`: that is a recorded attempt, in [`crate::ReadOutcome::error`].)
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed or the instance does not exist (for this tenant).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The instance's license is typed in by hand: there is no PBX to read.
    #[error("this instance's license is entered by hand: there is no PBX to read")]
    Manual,
    /// The instance is read from its PBX: its license is not typed in.
    #[error(
        "this instance's license is read from its PBX; only manual instances take one typed in"
    )]
    NotManual,
    /// Another read of the instance is in progress and did not finish in time.
    #[error("this instance is being read right now; try again in a minute")]
    Busy,
}

/// Why a connection test failed, as a sentence for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestConnectionError {
    /// The TLS settings cannot work.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The PBX could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
}
