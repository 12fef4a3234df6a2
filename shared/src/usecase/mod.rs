//! The use cases: what a request does once HTTP has given it a caller and a body, and before
//! it answers. Each one loads nothing the handler already has, decides with the domain,
//! commits through the store in one transaction, and turns a refusal into the rule it names.
//! Handlers read as load → use case → respond; `http` keeps only HTTP.

#[cfg(all(feature = "dynamo", feature = "cognito"))]
pub mod accept;
#[cfg(feature = "dynamo")]
pub mod groups;
#[cfg(feature = "dynamo")]
pub mod integrations;
#[cfg(all(feature = "dynamo", feature = "ses"))]
pub mod invites;
#[cfg(feature = "dynamo")]
pub mod people;
#[cfg(all(feature = "dynamo", feature = "cognito", feature = "ses"))]
pub mod resets;
#[cfg(all(feature = "dynamo", feature = "cognito", feature = "ses"))]
pub mod scim;
#[cfg(feature = "dynamo")]
pub mod teams;
#[cfg(all(feature = "dynamo", feature = "ses"))]
pub mod tenants;
#[cfg(feature = "dynamo")]
pub mod users;
