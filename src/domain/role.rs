//! Team roles and which of them may own leads.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Manager,
    Sales,
    Accounting,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Manager, Role::Sales, Role::Accounting];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Sales => "sales",
            Role::Accounting => "accounting",
        }
    }

    /// The label the UI shows.
    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Manager => "Manager",
            Role::Sales => "Sales",
            Role::Accounting => "Accounting",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Owner, Manager and Sales can own leads; Accounting never does.
    pub fn is_sales_capable(self) -> bool {
        !matches!(self, Role::Accounting)
    }

    /// How much a role may do: a change to a lower rank is a demotion.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Manager => 2,
            Role::Sales => 1,
            Role::Accounting => 0,
        }
    }

    /// Owners and Managers run the team and its settings.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Manager)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_capabilities() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Owner"), None);
        assert!(!Role::Accounting.is_sales_capable());
        assert!(Role::Sales.is_sales_capable() && !Role::Sales.is_admin());
    }
}
