//! THE table of who may do what. Every permission decision in the product is made here.

use super::Role;

/// Something a member may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the team list.
    ViewTeam,
    /// Invite a new member with the given role.
    Invite(Role),
    /// Read the audit log.
    ViewAudit,
    /// Read leads.
    ViewLeads,
    /// Create a lead owned by `OwnerPick`.
    CreateLead(OwnerPick),
    /// Take a lead that has no owner.
    ClaimLead,
    /// Send a lead back to the unassigned pool; `own` when the actor owns it.
    UnassignLead { own: bool },
    /// Give a lead to a chosen member, whoever has it now.
    AssignLead,
    /// Edit a lead's fields or status; `own` when the actor owns it.
    EditLead { own: bool },
    /// Read the routing settings (the Lead routing page).
    ViewRouting,
    /// Change the routing settings.
    SaveRouting,
    /// See and change the website form's key and settings.
    ManageWebsite,
    /// Issue a password-reset link for a member.
    ResetPassword,
    /// Withdraw a pending invitation for the given role.
    RevokeInvitation(Role),
    /// Withdraw the pending password-reset links of a member with the given role.
    RevokeResets(Role),
    /// Change a member's time zone, hours, time off or Away; `own` for one's own.
    EditAvailability { own: bool },
    /// Set a member's daily cap of routed leads.
    SetDailyCap,
}

/// Whose a new lead will be, as seen by its creator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerPick {
    /// Nobody chosen: routing decides, or it stays unassigned.
    Nobody,
    Myself,
    Teammate,
}

/// Why an action is refused: a sentence for the person who tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub &'static str);

/// One requested change to a member.
#[derive(Debug, Clone, Copy)]
pub struct MemberChange {
    pub target_role: Role,
    pub new_role: Option<Role>,
    pub is_self: bool,
}

/// What someone who may not move a lead should do instead (refusals and page hints).
macro_rules! ask_to_reassign {
    () => {
        "Ask an Owner or Manager to reassign it."
    };
}

/// The hint for a lead someone else owns, to a member who may not reassign it.
pub const ASK_TO_REASSIGN: &str = ask_to_reassign!();

/// May a member with `role` do `action`?
pub fn check(role: Role, action: Action) -> Result<(), Denied> {
    use Role::{Accounting, Manager, Owner, Sales};
    let (allowed, why) = match action {
        Action::ViewTeam | Action::ViewLeads | Action::ViewRouting => (true, ""),
        Action::SaveRouting => (
            role.is_admin(),
            "Only an Owner or Manager can change lead routing.",
        ),
        Action::ResetPassword => (
            role == Role::Owner,
            "Only an Owner can issue a password-reset link.",
        ),
        Action::ManageWebsite => (
            role.is_admin(),
            "Only an Owner or Manager can manage the website form.",
        ),
        Action::ViewAudit => (
            role.is_admin(),
            "Only an Owner or Manager can view the audit log.",
        ),
        Action::Invite(new_role) => match role {
            Owner => (true, ""),
            Manager => (
                !new_role.is_admin(),
                "Only an Owner can invite an Owner or Manager.",
            ),
            Sales | Accounting => (false, "Only an Owner or Manager can invite members."),
        },
        Action::RevokeInvitation(invited_role) => match role {
            Owner => (true, ""),
            Manager => (
                !invited_role.is_admin(),
                "Only an Owner can withdraw an invitation for an Owner or Manager.",
            ),
            Sales | Accounting => (false, "Only an Owner or Manager can withdraw invitations."),
        },
        Action::RevokeResets(member_role) => match role {
            Owner => (true, ""),
            Manager => (
                !member_role.is_admin(),
                "Only an Owner can withdraw an Owner's or Manager's reset links.",
            ),
            Sales | Accounting => (
                false,
                "Only an Owner or Manager can withdraw password-reset links.",
            ),
        },
        Action::CreateLead(pick) => match (role, pick) {
            (Accounting, _) => (false, "Accounting can read leads but not create them."),
            (Sales, OwnerPick::Teammate) => (
                false,
                "Sales can only create leads for themselves or leave them unassigned.",
            ),
            _ => (true, ""),
        },
        Action::ClaimLead => (role.is_sales_capable(), "Accounting cannot own leads."),
        Action::UnassignLead { own } => match role {
            Owner | Manager => (true, ""),
            Sales => (
                own,
                concat!(
                    "Sales can only unassign their own leads. ",
                    ask_to_reassign!()
                ),
            ),
            Accounting => (false, "Accounting can read leads but not change them."),
        },
        Action::AssignLead => (
            role.is_admin(),
            "Only an Owner or Manager can assign or reassign leads.",
        ),
        Action::EditAvailability { own } => (
            own || role.is_admin(),
            "Only an Owner or Manager can change a teammate's availability.",
        ),
        Action::SetDailyCap => (
            role.is_admin(),
            "Only an Owner or Manager can set a daily cap.",
        ),
        Action::EditLead { own } => match role {
            Owner | Manager => (true, ""),
            Sales => (own, "Sales can only edit their own leads."),
            Accounting => (false, "Accounting can read leads but not change them."),
        },
    };
    if allowed { Ok(()) } else { Err(Denied(why)) }
}

/// May a member with `role` make `change` to a teammate? The "keep one active Owner" rule
/// needs the team's state and is checked by the caller inside its transaction.
pub fn check_member_change(role: Role, change: MemberChange) -> Result<(), Denied> {
    if !role.is_admin() {
        return Err(Denied("Only an Owner or Manager can change team members."));
    }
    if change.is_self {
        return Err(Denied(
            "You cannot change your own role or deactivate yourself.",
        ));
    }
    if role == Role::Manager {
        if change.target_role.is_admin() {
            return Err(Denied(
                "A Manager cannot change an Owner or another Manager.",
            ));
        }
        if change.new_role.is_some_and(Role::is_admin) {
            return Err(Denied(
                "Only an Owner can make someone an Owner or Manager.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    #[test]
    fn invitations() {
        // (inviter, invitee role, allowed)
        let table = [
            (Owner, Owner, true),
            (Owner, Manager, true),
            (Owner, Sales, true),
            (Owner, Accounting, true),
            (Manager, Owner, false),
            (Manager, Manager, false),
            (Manager, Sales, true),
            (Manager, Accounting, true),
            (Sales, Sales, false),
            (Accounting, Sales, false),
        ];
        for (inviter, invitee, allowed) in table {
            assert_eq!(
                check(inviter, Action::Invite(invitee)).is_ok(),
                allowed,
                "{inviter:?} invites {invitee:?}"
            );
        }
    }

    #[test]
    fn availability_and_caps() {
        // (role, own availability, a teammate's, any daily cap)
        let table = [
            (Owner, true, true, true),
            (Manager, true, true, true),
            (Sales, true, false, false),
            (Accounting, true, false, false),
        ];
        for (role, own, teammate, cap) in table {
            assert_eq!(
                check(role, Action::EditAvailability { own: true }).is_ok(),
                own
            );
            assert_eq!(
                check(role, Action::EditAvailability { own: false }).is_ok(),
                teammate,
                "{role:?} edits a teammate's availability"
            );
            assert_eq!(
                check(role, Action::SetDailyCap).is_ok(),
                cap,
                "{role:?} sets a cap"
            );
        }
    }

    #[test]
    fn withdrawing_links_follows_inviting() {
        // Whoever may invite a role may withdraw its invitation and its members' reset links.
        for actor in Role::ALL {
            for target in Role::ALL {
                let may_invite = check(actor, Action::Invite(target)).is_ok();
                assert_eq!(
                    check(actor, Action::RevokeInvitation(target)).is_ok(),
                    may_invite,
                    "{actor:?} withdraws an invitation for {target:?}"
                );
                assert_eq!(
                    check(actor, Action::RevokeResets(target)).is_ok(),
                    may_invite,
                    "{actor:?} withdraws reset links of a {target:?}"
                );
            }
        }
    }

    #[test]
    fn lead_actions() {
        // (role, action, allowed)
        let table = [
            (Owner, Action::CreateLead(OwnerPick::Teammate), true),
            (Manager, Action::CreateLead(OwnerPick::Teammate), true),
            (Sales, Action::CreateLead(OwnerPick::Myself), true),
            (Sales, Action::CreateLead(OwnerPick::Nobody), true),
            (Sales, Action::CreateLead(OwnerPick::Teammate), false),
            (Accounting, Action::CreateLead(OwnerPick::Nobody), false),
            (Owner, Action::ClaimLead, true),
            (Sales, Action::ClaimLead, true),
            (Accounting, Action::ClaimLead, false),
            (Manager, Action::UnassignLead { own: false }, true),
            (Sales, Action::UnassignLead { own: true }, true),
            (Sales, Action::UnassignLead { own: false }, false),
            (Accounting, Action::UnassignLead { own: true }, false),
            (Owner, Action::AssignLead, true),
            (Manager, Action::AssignLead, true),
            (Sales, Action::AssignLead, false),
            (Accounting, Action::AssignLead, false),
            (Manager, Action::EditLead { own: false }, true),
            (Sales, Action::EditLead { own: true }, true),
            (Sales, Action::EditLead { own: false }, false),
            (Accounting, Action::EditLead { own: false }, false),
            (Accounting, Action::ViewLeads, true),
            (Sales, Action::ViewRouting, true),
            (Owner, Action::SaveRouting, true),
            (Manager, Action::SaveRouting, true),
            (Sales, Action::SaveRouting, false),
            (Accounting, Action::SaveRouting, false),
            (Manager, Action::ManageWebsite, true),
            (Sales, Action::ManageWebsite, false),
            (Owner, Action::ResetPassword, true),
            (Manager, Action::ResetPassword, false),
        ];
        for (role, action, allowed) in table {
            assert_eq!(check(role, action).is_ok(), allowed, "{role:?} {action:?}");
        }
    }

    #[test]
    fn audit_is_for_owners_and_managers() {
        for role in Role::ALL {
            assert_eq!(check(role, Action::ViewAudit).is_ok(), role.is_admin());
            assert!(check(role, Action::ViewTeam).is_ok());
        }
    }

    #[test]
    fn member_changes() {
        let change = |target_role, new_role, is_self| MemberChange {
            target_role,
            new_role,
            is_self,
        };
        // (actor, target, new role, self, allowed)
        let table = [
            (Owner, Owner, Some(Sales), false, true),
            (Owner, Manager, Some(Owner), false, true),
            (Owner, Owner, Some(Sales), true, false),
            (Manager, Sales, Some(Accounting), false, true),
            (Manager, Sales, None, false, true),
            (Manager, Sales, Some(Manager), false, false),
            (Manager, Sales, Some(Owner), false, false),
            (Manager, Manager, Some(Sales), false, false),
            (Manager, Owner, None, false, false),
            (Manager, Manager, None, true, false),
            (Sales, Sales, None, false, false),
            (Accounting, Sales, None, false, false),
        ];
        for (actor, target, new_role, is_self, allowed) in table {
            assert_eq!(
                check_member_change(actor, change(target, new_role, is_self)).is_ok(),
                allowed,
                "{actor:?} changes {target:?} to {new_role:?} (self: {is_self})"
            );
        }
    }
}
