//! The use cases: the one path every write takes, whichever channel it comes from
//! (JSON API, HTML pages, and later the public form and the assistant).

pub mod accounts;
pub mod audit;
pub mod availability;
pub mod chat;
pub mod housekeeping;
pub mod intake;
pub mod leads;
pub mod links;
pub mod notifications;
pub mod rate_limit;
pub mod rotations;
pub mod routing;
pub mod rules;
pub mod secrets;
pub mod team;
pub mod website;

use crate::store::accounts::Account;
use crate::store::users::User;

/// The signed-in member a use case acts for.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub account: Account,
}

impl Actor {
    pub fn account_id(&self) -> &str {
        &self.account.id
    }
}
