//! Who may do what: roles, the actions they allow, grants scoped to a
//! service and an environment, protected environments, and the identities
//! the rules compare.
//!
//! Everything here is data and pure functions. The server asks
//! [`authorize`] before every action, for routes and its orchestrator
//! alike, and [`permission_table`] is what `ferry role list --permissions`
//! prints and `docs/security.md` documents: the table is written once, in
//! [`Role::allows`].
//!
//! # The rules
//!
//! - A **grant** gives a [`Role`] to a user or a group, everywhere or only
//!   for one service, one environment, or both. A user holds their own
//!   grants and those of their groups.
//! - An action is allowed when some grant's role allows it and the grant's
//!   scope covers what the action touches. A grant scoped to a service
//!   covers nothing that has no service (applying the configuration,
//!   managing users): those need a grant without a service.
//! - In a **protected environment**, the actions that move or approve
//!   releases ([`Action::is_guarded`]) need a grant that names the
//!   environment: a grant for every environment is not enough, an
//!   administrator's included.
//! - Reading is allowed to anyone with any grant, whatever its scope:
//!   scopes narrow what one may change, not what one may see. Secret values
//!   are never readable.
//! - A **token** may be narrowed to grants of its own: it then allows what
//!   both its owner's grants and its own allow, never more than its owner.

mod grant;
mod identity;
mod role;

pub use grant::{Denied, Grant, GrantError, Rights, Target, authorize};
pub use identity::{
    IdentityError, Person, RESERVED_NAMES, check_email, check_principal_name, same_person,
};
pub use role::{Action, Role, permission_table, permission_table_markdown};
