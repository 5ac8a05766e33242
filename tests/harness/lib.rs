//! Fixtures for kernel tests.
