//! The kiosk application.

pub mod admin_units;
pub mod attract;
pub mod availability;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod devices;
pub mod gateway;
pub mod hardening;
pub mod heartbeat;
pub mod i18n;
pub mod identity;
pub mod logging;
pub mod provision_status;
pub mod receipt;
#[cfg(feature = "https")]
pub mod renewal;
pub mod service_manager;
pub mod session;
pub mod submit;
pub mod vnkey;

#[cfg(feature = "gui")]
pub mod app;
#[cfg(feature = "gui")]
pub mod headless;
#[cfg(feature = "gui")]
pub mod layout_check;
#[cfg(feature = "gui")]
pub mod shell;
#[cfg(feature = "gui")]
pub mod technician;
#[cfg(feature = "gui")]
pub mod tour;
