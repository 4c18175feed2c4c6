//! The rules, pure: roles, the one permission table, and validated input types.
//! Nothing here touches SQL, HTTP or the clock.

pub mod availability;
pub mod conversation;
pub mod country;
pub mod kinds;
pub mod lead;
pub mod password;
pub mod permissions;
pub mod role;
pub mod routing;
pub mod rules;
pub mod validate;

pub use kinds::{AuditAction, HistoryKind, NotificationKind, Speaker};
pub use permissions::{Action, Denied, MemberChange, OwnerPick};
pub use role::Role;
