//! The harness: the local AWS emulator (moto server), the resources the functions expect, an
//! in-process API Gateway that routes to the right handler, and helpers the
//! end-to-end tests and the local run share.

pub mod app;
pub mod contract;
pub mod events;
pub mod gateway;
pub mod mailbox;
pub mod moto;
pub mod peers;
pub mod proxy;
pub mod runtime_api;
pub mod seed;
pub mod server;
pub mod stack;
pub mod totp;
pub mod web;

/// Every function binary, by the name `App::with_sdk_per_function` passes and the template's
/// `BuildProperties.Binary` uses.
pub const FUNCTIONS: &[&str] = &[
    "invite",
    "accept",
    "list",
    "change-role",
    "suspend",
    "delete",
    "audit",
    "reset-password",
    "scim",
    "expire-invites",
    "reconcile-signin",
    "mail-events",
    "publish-events",
    "tenant-admin",
    "fallback",
];

pub use app::App;
pub use moto::Moto;
pub use stack::Stack;
