//! Unit tests of the service on a mocked store (being written).
