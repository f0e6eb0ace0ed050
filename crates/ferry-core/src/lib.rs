//! The domain of ferry, a release manager: what services, environments,
//! lifecycles, releases and deployments are, the rules they keep, and the
//! tamper-evident audit chain.
//!
//! This crate does no I/O: no files, no network, no database, no clock. Every
//! function takes what it needs (including "now") and returns a value, so each
//! rule is unit-tested on its own. Storage, the server and the CLI import it;
//! it imports none of them.

pub mod access;
pub mod artifact;
pub mod audit;
pub mod audit_filter;
pub mod change;
pub mod changelog;
pub mod chat;
pub mod config;
pub mod conventional;
pub mod deployment;
pub mod digest;
pub mod dora;
pub mod environment;
pub mod event;
pub mod evidence_pack;
pub mod field_path;
pub mod freeze;
pub mod gates;
pub mod ical;
pub mod junit;
pub mod lifecycle;
pub mod limits;
pub mod lock;
pub mod name;
pub mod notes;
pub mod plan;
pub mod process;
pub mod release;
pub mod release_plan;
pub mod review;
pub mod risk;
pub mod service;
pub mod sso;
pub mod status;
pub mod subscription;
pub mod time;
pub mod train;
pub mod trust;
pub mod variables;
pub mod versioning;
pub mod webhook;
pub mod windows;

pub use deployment::DeploymentStatus;
pub use environment::Tier;
pub use name::{Name, NameError};
pub use release::{ReleaseRef, ReleaseState};
