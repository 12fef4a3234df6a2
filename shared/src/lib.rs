//! The VeloConnect directory's shared crate.
//!
//! `domain` is pure (no AWS types, no async): roles, permissions, seat rules, the invite
//! lifecycle, validation, email rendering and the problem+json error model. `usecase` holds
//! what each request does between HTTP and the store; `http` only HTTP. The adapters live
//! behind cargo features so that each Lambda links only the SDK clients it calls.

pub mod domain;

#[cfg(feature = "auth")]
pub mod auth;
#[cfg(feature = "env")]
pub mod config;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "cognito")]
pub mod identity;
#[cfg(any(feature = "aws", feature = "http"))]
pub mod journal;
#[cfg(feature = "ses")]
pub mod mail;
pub mod routes;
#[cfg(all(feature = "dynamo", feature = "cognito"))]
pub mod signin;
#[cfg(feature = "dynamo")]
pub mod store;
#[cfg(feature = "telemetry")]
pub mod telemetry;
#[cfg(feature = "dynamo")]
pub mod usecase;
