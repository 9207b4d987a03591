//! Credentials that need reading from the environment and signing, rather than a plain key.

pub mod aws;
