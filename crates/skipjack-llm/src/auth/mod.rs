//! Credentials that need reading from the environment and signing, or obtaining and refreshing,
//! rather than a plain key: AWS SigV4 for Bedrock, Google's OAuth access tokens for Vertex AI.

pub mod aws;
pub mod aws_process;
pub mod google;
