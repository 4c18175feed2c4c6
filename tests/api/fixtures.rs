//! Data many tests start from: an account whose team has one member of every role.

use crate::helpers::{Member, TestApp};

/// Acme's team, one member of each role, joined in this order (team order matters to
/// routing): the Owner (owner@acme.io), then manager@, sales@ and accounting@acme.io.
/// A test that needs more members adds them with `app.add_member(&t.owner, ...)`.
pub struct Team {
    pub owner: Member,
    pub manager: Member,
    pub sales: Member,
    pub accounting: Member,
}

pub async fn team(app: &TestApp) -> Team {
    let owner = app.signup("Acme", "owner@acme.io").await;
    let manager = app.add_member(&owner, "manager", "manager@acme.io").await;
    let sales = app.add_member(&owner, "sales", "sales@acme.io").await;
    let accounting = app
        .add_member(&owner, "accounting", "accounting@acme.io")
        .await;
    Team {
        owner,
        manager,
        sales,
        accounting,
    }
}
