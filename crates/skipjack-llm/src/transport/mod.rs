//! HTTP transport: placeholder, being written.
