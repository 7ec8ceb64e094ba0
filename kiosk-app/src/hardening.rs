//! Process hardening at start-up: no core dumps.
//!
//! A crash (in dlib, a decoder, the GPU stack) must not write the process's memory to disk:
//! it holds chip portraits, DG13 fields, the queue key and the TLS key. Two settings, both
//! inherited by nothing the kiosk starts: `RLIMIT_CORE` 0 (soft and hard, so it cannot be
//! raised again) and `PR_SET_DUMPABLE` 0 (no core dump whatever the limit or
//! `core_pattern`, and no ptrace attach by other processes of the same user).
//!
//! Through `rustix` (its `process` feature): safe wrappers over the two system calls (the
//! workspace denies unsafe code), maintained by the Bytecode Alliance and already in the
//! build through `tempfile`; `nix` would do the same with a second copy of the libc bindings.

use rustix::process::{self, DumpableBehavior, Resource, Rlimit};

/// Sets `RLIMIT_CORE` to 0 and the process non-dumpable.
///
/// # Errors
///
/// The OS refused either setting (the kiosk then refuses to start).
pub fn forbid_core_dumps() -> std::io::Result<()> {
    process::setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    process::set_dumpable_behavior(DumpableBehavior::NotDumpable)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_core_dumps_after_start() {
        forbid_core_dumps().expect("hardened");
        assert_eq!(
            process::getrlimit(Resource::Core),
            Rlimit {
                current: Some(0),
                maximum: Some(0)
            }
        );
        assert_eq!(
            process::dumpable_behavior().expect("prctl"),
            DumpableBehavior::NotDumpable
        );
    }
}
