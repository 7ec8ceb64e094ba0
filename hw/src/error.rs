//! The shape shared by every driver error of this crate.
//!
//! Each capability (card, camera, QR, printer) has its own error struct generated here: a
//! `kind` the UI matches on, a technician-facing `detail` and an optional underlying cause.
//! One macro keeps the four types identical in behaviour without a shared generic type that
//! would leak into every signature.

/// Defines `$name`, an error with a `$kind` classification, a detail string and an optional
/// source. `$kind` must be `Copy + Display`.
macro_rules! hw_error {
    ($(#[$meta:meta])* $name:ident, $kind:ident) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $name {
            kind: $kind,
            detail: String,
            source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
        }

        impl $name {
            /// Creates an error of `kind` with a technician-facing `detail` (what happened and,
            /// where possible, what to do next). The detail must not contain personal data.
            pub fn new(kind: $kind, detail: impl Into<String>) -> Self {
                Self { kind, detail: detail.into(), source: None }
            }

            /// Like [`Self::new`], keeping the underlying cause reachable through
            /// [`std::error::Error::source`].
            pub fn with_source(
                kind: $kind,
                detail: impl Into<String>,
                source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
            ) -> Self {
                Self { kind, detail: detail.into(), source: Some(source.into()) }
            }

            /// The classification generic code (the UI) matches on.
            pub fn kind(&self) -> $kind {
                self.kind
            }

            /// The technician-facing detail, without the kind.
            pub fn detail(&self) -> &str {
                &self.detail
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                if self.detail.is_empty() {
                    write!(f, "{}", self.kind)
                } else {
                    write!(f, "{}: {}", self.kind, self.detail)
                }
            }
        }

        impl std::error::Error for $name {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
            }
        }

        impl From<$kind> for $name {
            fn from(kind: $kind) -> Self {
                Self::new(kind, String::new())
            }
        }
    };
}

pub(crate) use hw_error;
