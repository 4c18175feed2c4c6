//! Team roles and which of them may own leads.

use super::kinds::closed_set;

closed_set! {
    pub enum Role {
        Owner = ("owner", "Owner"),
        Manager = ("manager", "Manager"),
        Sales = ("sales", "Sales"),
        Accounting = ("accounting", "Accounting"),
    }
}

impl Role {
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
