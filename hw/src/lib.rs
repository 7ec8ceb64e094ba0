//! Hardware abstraction layer.
