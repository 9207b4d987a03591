//! Credentials that must be obtained or refreshed rather than read from a variable: today
//! Google's OAuth access tokens for Vertex AI.

pub mod google;
