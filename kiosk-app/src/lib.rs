//! The kiosk application.
