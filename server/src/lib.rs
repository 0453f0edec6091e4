//! hallq server
