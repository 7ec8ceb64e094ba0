//! The kiosk's views. Rust talks to them only through the exported global adapters
//! (`Tr`, `Kiosk`; see `ui/adapters.slint`).
// Generated code: the workspace's lints are not ours to enforce there.
#![allow(
    missing_debug_implementations,
    clippy::all,
    clippy::unwrap_used,
    clippy::todo
)]
slint::include_modules!();
