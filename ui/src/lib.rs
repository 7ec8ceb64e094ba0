//! The kiosk's views. Rust talks to them only through the exported global adapters.
#![allow(missing_debug_implementations, clippy::all)]
slint::include_modules!();
