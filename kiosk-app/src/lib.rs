//! The kiosk application.

pub mod catalog;
pub mod config;
pub mod gateway;
pub mod i18n;
pub mod logging;
pub mod mrz;
pub mod session;
