//! Whether the kiosk can serve a citizen: the devices' health as pure state.
//!
//! A kiosk with real devices starts even when one is missing (unplugged, powered off, pcscd not
//! up yet): the workers in [`crate::devices`] keep retrying and report each device's
//! [`DeviceHealth`] as it changes. This module turns those reports into one decision, no I/O,
//! no clock:
//!
//! - a device that is [`DeviceHealth::Down`] takes the kiosk out of service: the attract screen
//!   becomes the out-of-service screen and no session can start. A session already under way
//!   is never interrupted by it (its own steps tell the citizen what went wrong);
//! - when every device is back the kiosk serves again, without a restart;
//! - a [`DeviceHealth::Warning`] (paper nearly used up) keeps the kiosk in service and becomes
//!   a line for staff, never a message for the citizen;
//! - a device not heard from yet counts as ready, so the kiosk serves as soon as it starts
//!   (the workers report within their first poll).
//!
//! Every change is returned as a [`Change`] for the shell to log: which device, and a short
//! reason code, never personal data.

use std::fmt;

/// A device the kiosk needs to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceKind {
    /// The contactless card reader (PC/SC).
    CardReader,
    /// The camera (face check, card QR).
    Camera,
    /// The receipt printer.
    Printer,
}

impl DeviceKind {
    /// Every device, in the order the out-of-service screen lists them.
    pub const ALL: [Self; 3] = [Self::CardReader, Self::Camera, Self::Printer];

    /// A stable name for logs and `kioskctl` (`card-reader`, `camera`, `printer`); also the
    /// Fluent key suffix of the device's name (`device-<name>`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::CardReader => "card-reader",
            Self::Camera => "camera",
            Self::Printer => "printer",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::CardReader => 0,
            Self::Camera => 1,
            Self::Printer => 2,
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a worker last saw of its device. Reasons are short stable codes (`absent`,
/// `paper-out`, `paper-near-end`...), for logs and staff lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceHealth {
    /// Works.
    Ready,
    /// Works, but staff should act soon (e.g. `paper-near-end`).
    Warning(&'static str),
    /// Cannot be used, with the reason (e.g. `absent`, `cover-open`, `no-frames`).
    Down(&'static str),
}

/// One device's health changed: for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The device.
    pub device: DeviceKind,
    /// Its health before.
    pub from: DeviceHealth,
    /// Its health now.
    pub to: DeviceHealth,
    /// The kiosk serves after this change.
    pub in_service: bool,
    /// Whether the kiosk's service state flipped with it.
    pub service_changed: bool,
}

/// The devices' health and the decision it gives. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    health: [DeviceHealth; 3],
}

impl Default for Availability {
    fn default() -> Self {
        Self::new()
    }
}

impl Availability {
    /// Every device assumed ready until a worker says otherwise.
    #[must_use]
    pub fn new() -> Self {
        Self {
            health: [DeviceHealth::Ready; 3],
        }
    }

    /// Records a worker's report; `Some` when it changed anything.
    pub fn report(&mut self, device: DeviceKind, health: DeviceHealth) -> Option<Change> {
        let before = self.in_service();
        let slot = &mut self.health[device.index()];
        if *slot == health {
            return None;
        }
        let from = std::mem::replace(slot, health);
        let in_service = self.in_service();
        Some(Change {
            device,
            from,
            to: health,
            in_service,
            service_changed: before != in_service,
        })
    }

    /// The device's last reported health.
    #[must_use]
    pub fn health(&self, device: DeviceKind) -> DeviceHealth {
        self.health[device.index()]
    }

    /// No device is down: citizens may start a session.
    #[must_use]
    pub fn in_service(&self) -> bool {
        self.down().is_empty()
    }

    /// The devices that are down, with their reasons, in [`DeviceKind::ALL`] order.
    #[must_use]
    pub fn down(&self) -> Vec<(DeviceKind, &'static str)> {
        DeviceKind::ALL
            .into_iter()
            .filter_map(|d| match self.health(d) {
                DeviceHealth::Down(why) => Some((d, why)),
                _ => None,
            })
            .collect()
    }

    /// Warnings for staff (device, reason), in [`DeviceKind::ALL`] order.
    #[must_use]
    pub fn warnings(&self) -> Vec<(DeviceKind, &'static str)> {
        DeviceKind::ALL
            .into_iter()
            .filter_map(|d| match self.health(d) {
                DeviceHealth::Warning(why) => Some((d, why)),
                _ => None,
            })
            .collect()
    }

    /// Whether a citizen's touch on the attract screen may start a session now.
    #[must_use]
    pub fn may_start(&self) -> bool {
        self.in_service()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeviceHealth::{Down, Ready, Warning};
    use DeviceKind::{Camera, CardReader, Printer};

    #[test]
    fn a_kiosk_serves_until_a_device_is_down_and_again_when_every_one_is_back() {
        let mut a = Availability::new();
        assert!(a.in_service() && a.may_start());
        // Ready again is no change: nothing to log.
        assert_eq!(a.report(Printer, Ready), None);

        let c = a.report(CardReader, Down("absent")).expect("a change");
        assert_eq!((c.from, c.to), (Ready, Down("absent")));
        assert!(!c.in_service && c.service_changed);
        assert!(!a.may_start());

        // A second device down: still out of service, no flip.
        let c = a.report(Printer, Down("paper-out")).expect("a change");
        assert!(!c.in_service && !c.service_changed);
        assert_eq!(
            a.down(),
            vec![(CardReader, "absent"), (Printer, "paper-out")]
        );
        // The same report again changes nothing.
        assert_eq!(a.report(Printer, Down("paper-out")), None);
        // Another reason is a change (logged), still down.
        let c = a.report(Printer, Down("cover-open")).expect("a change");
        assert_eq!(c.from, Down("paper-out"));

        // The reader returns: the printer still keeps the kiosk out of service.
        let c = a.report(CardReader, Ready).expect("a change");
        assert!(!c.in_service && !c.service_changed);
        // The printer returns: in service again.
        let c = a.report(Printer, Ready).expect("a change");
        assert!(c.in_service && c.service_changed);
        assert!(a.may_start());
        assert!(a.down().is_empty());
    }

    #[test]
    fn a_warning_is_for_staff_and_keeps_the_kiosk_in_service() {
        let mut a = Availability::new();
        let c = a
            .report(Printer, Warning("paper-near-end"))
            .expect("a change");
        assert!(c.in_service && !c.service_changed);
        assert!(a.may_start());
        assert_eq!(a.warnings(), vec![(Printer, "paper-near-end")]);
        // Paper out after the warning: down; a new roll: ready, no warning left.
        assert!(
            !a.report(Printer, Down("paper-out"))
                .expect("a change")
                .in_service
        );
        assert!(a.warnings().is_empty());
        a.report(Printer, Ready);
        assert!(a.in_service() && a.warnings().is_empty());
    }

    #[test]
    fn each_device_counts_on_its_own() {
        for d in DeviceKind::ALL {
            let mut a = Availability::new();
            a.report(d, Down("absent"));
            assert_eq!(a.down(), vec![(d, "absent")], "{d}");
            for other in DeviceKind::ALL.into_iter().filter(|o| *o != d) {
                assert_eq!(a.health(other), Ready);
            }
            a.report(d, Ready);
            assert!(a.in_service(), "{d}");
        }
        assert_eq!(
            DeviceKind::ALL.map(DeviceKind::name),
            ["card-reader", "camera", "printer"]
        );
        assert_eq!(Camera.to_string(), "camera");
    }
}
