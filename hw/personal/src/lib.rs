//! [`Personal<T>`]: personal data that cannot end up in a log by accident.
//!
//! A kiosk handles ID numbers, names, dates of birth and QR payloads of citizens. Logs, crash
//! reports and `{:?}` dumps of whole structs are where such data usually leaks. Wrapping the
//! value makes `Debug` and `Display` print `Personal(<redacted>)` / `<redacted>`, so a struct
//! holding a `Personal` field can derive `Debug` safely, and reading the value needs an explicit
//! [`Personal::expose`] call that stands out in review.
//!
//! The value is wiped from memory (via [`zeroize`]) when the wrapper is dropped, which is why
//! `T` must implement [`Zeroize`]. `serde` is deliberately not implemented: writing personal
//! data anywhere must be a visible decision at the call site.

use std::fmt;

use zeroize::Zeroize;

/// Personal data of a citizen: never printed, wiped on drop.
///
/// ```
/// use kiosk_personal::Personal;
///
/// let id = Personal::new(String::from("001090123456"));
/// assert_eq!(format!("{id:?}"), "Personal(<redacted>)");
/// assert_eq!(format!("{id}"), "<redacted>");
/// assert_eq!(id.expose(), "001090123456");
/// ```
pub struct Personal<T: Zeroize>(T);

impl<T: Zeroize> Personal<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value itself.
    ///
    /// Only for showing it to the citizen themselves (on screen, on their own receipt) or for
    /// protocol use (deriving a key, sending an APDU). Never for logs, metrics or error messages.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Derives another personal value from this one, e.g. the PACE CAN (the last 6 digits)
    /// from the ID number. The result is personal data too.
    ///
    /// It borrows rather than consumes `self`: moving the value out would skip the wipe on drop.
    pub fn map<U: Zeroize>(&self, f: impl FnOnce(&T) -> U) -> Personal<U> {
        Personal(f(&self.0))
    }
}

impl<T: Zeroize> Drop for Personal<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> From<T> for Personal<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Zeroize + Clone> Clone for Personal<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Zeroize + PartialEq> PartialEq for Personal<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Zeroize + Eq> Eq for Personal<T> {}

impl<T: Zeroize> fmt::Debug for Personal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Personal(<redacted>)")
    }
}

impl<T: Zeroize> fmt::Display for Personal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "001090123456";

    #[derive(Debug)]
    #[allow(dead_code)] // fields are read through Debug only
    struct Citizen {
        id: Personal<String>,
        photo: Personal<Vec<u8>>,
        nested: Option<Inner>,
    }

    #[derive(Debug)]
    #[allow(dead_code)]
    struct Inner {
        name: Personal<String>,
    }

    fn citizen() -> Citizen {
        Citizen {
            id: Personal::new(SECRET.to_owned()),
            photo: Personal::new(vec![0xAB; 4]),
            nested: Some(Inner {
                name: Personal::new("NGUYEN VAN AN".to_owned()),
            }),
        }
    }

    #[test]
    fn formatting_never_shows_the_value() {
        let c = citizen();
        for text in [
            format!("{c:?}"),
            format!("{c:#?}"),
            format!("{}", c.id),
            format!("{:?}", c.id),
            format!("{:>40}", c.id),
        ] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("NGUYEN"), "{text}");
            assert!(!text.contains("171, 171"), "{text}"); // photo bytes as Vec Debug
        }
        assert!(format!("{c:?}").contains("Personal(<redacted>)"));
    }

    #[test]
    fn expose_map_clone_eq() {
        let id = Personal::new(SECRET.to_owned());
        let can = id.map(|s| s[s.len() - 6..].to_owned());
        assert_eq!(can.expose(), "123456");
        assert_eq!(id.clone(), id);
        assert_ne!(can, id);
    }

    /// Records whether it was wiped, so the test can observe `Drop` without reading freed memory.
    struct Probe(std::rc::Rc<std::cell::Cell<bool>>);

    impl Zeroize for Probe {
        fn zeroize(&mut self) {
            self.0.set(true);
        }
    }

    #[test]
    fn drop_zeroizes_the_value() {
        let wiped = std::rc::Rc::new(std::cell::Cell::new(false));
        let p = Personal::new(Probe(wiped.clone()));
        assert!(!wiped.get());
        drop(p);
        assert!(wiped.get());
    }

    #[test]
    fn strings_and_bytes_are_wipeable() {
        // What Drop does for the two common payloads.
        let mut s = SECRET.to_owned();
        s.zeroize();
        assert!(s.is_empty());
        let mut v = vec![1u8, 2, 3];
        v.zeroize();
        assert!(v.is_empty());
        let _compiles: Personal<String> = Personal::new(String::new());
        let _compiles: Personal<Vec<u8>> = Personal::new(Vec::new());
    }
}
