//! Closed sets of values: each is one enum carrying its wire name (API, database), its label
//! (pages) and its parse, whose error lists the accepted values. Nothing else spells them.

/// Declares a closed set: `Variant = ("wire", "Label")`.
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = ($wire:literal, $label:literal)),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: [Self; [$($wire),+].len()] = [$(Self::$variant),+];

            /// The name on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }

            /// The name pages show.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == raw)
            }

            /// Parses a field's value; the error is the sentence a form or the API shows.
            pub fn parse_field(raw: &str) -> Result<Self, String> {
                Self::parse(raw).ok_or_else(|| Self::expected(&Self::ALL))
            }

            /// "must be one of a, b, c" for the values a field accepts.
            pub fn expected(accepted: &[Self]) -> String {
                let names: Vec<&str> = accepted.iter().map(|v| v.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            }
        }

        // By hand: the derive does not see wire names that come through a macro.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($wire),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        /// The stored name read back (a row type decodes through it).
        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw).ok_or_else(|| format!("not a {}: {raw}", stringify!($name)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use closed_set;

closed_set! {
    /// What happened to a lead, in its history.
    pub enum HistoryKind {
        Created = ("created", "Created"),
        Routed = ("routed", "Routed"),
        Claimed = ("claimed", "Claimed"),
        Unassigned = ("unassigned", "Unassigned"),
        Assigned = ("assigned", "Assigned"),
        StatusChanged = ("status_changed", "Status changed"),
        Updated = ("updated", "Updated"),
    }
}

closed_set! {
    /// What an audit entry records.
    pub enum AuditAction {
        AccountCreated = ("account.created", "Account created"),
        RoutingUpdated = ("routing.updated", "Lead routing changed"),
        RoutingRulesUpdated = ("routing.rules_updated", "Routing rules changed"),
        RotationCreated = ("rotation.created", "Rotation added"),
        RotationUpdated = ("rotation.updated", "Rotation changed"),
        RotationDeleted = ("rotation.deleted", "Rotation deleted"),
        LeadClaimed = ("lead.claimed", "Lead claimed"),
        LeadUnassigned = ("lead.unassigned", "Lead unassigned"),
        LeadAssigned = ("lead.assigned", "Lead assigned"),
        TeamInvited = ("team.invited", "Member invited"),
        TeamJoined = ("team.joined", "Member joined"),
        TeamUpdated = ("team.updated", "Member changed"),
        AvailabilityUpdated = ("team.availability_updated", "Availability changed"),
        InvitationRevoked = ("team.invitation_revoked", "Invitation withdrawn"),
        LinksRevoked = ("team.links_revoked", "Member's links withdrawn"),
        PasswordResetIssued = ("team.password_reset_issued", "Password-reset link issued"),
        PasswordReset = ("team.password_reset", "Password reset"),
        PasswordResetsRevoked = ("team.password_resets_revoked", "Password-reset links withdrawn"),
        WebsiteKeyRotated = ("website.key_rotated", "Website form key rotated"),
        WebsiteUpdated = ("website.updated", "Website form changed"),
    }
}

closed_set! {
    /// Why a member was notified.
    pub enum NotificationKind {
        LeadAssigned = ("lead_assigned", "Lead assigned to you"),
        LeadRouted = ("lead_routed", "Lead routed to you"),
        PasswordChanged = ("password_changed", "Your password was changed"),
        LeadUpdated = ("lead_updated", "Lead updated by its visitor"),
    }
}

closed_set! {
    /// Who said a line of a chat; a transcript labels each line with it.
    pub enum Speaker {
        Visitor = ("visitor", "Visitor"),
        Assistant = ("assistant", "Assistant"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_are_unique() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            name: impl Fn(T) -> &'static str,
            parse: impl Fn(&str) -> Option<T>,
        ) {
            let mut names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            for v in all {
                assert_eq!(parse(name(*v)), Some(*v));
            }
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), all.len(), "duplicate wire names");
        }
        check(&HistoryKind::ALL, HistoryKind::as_str, HistoryKind::parse);
        check(&AuditAction::ALL, AuditAction::as_str, AuditAction::parse);
        check(
            &NotificationKind::ALL,
            NotificationKind::as_str,
            NotificationKind::parse,
        );
    }

    #[test]
    fn the_error_lists_what_is_accepted() {
        assert_eq!(
            HistoryKind::parse_field("nope"),
            Err("must be one of created, routed, claimed, unassigned, assigned, status_changed, updated".into())
        );
        assert_eq!(
            serde_json::to_value(AuditAction::LeadClaimed).unwrap(),
            "lead.claimed"
        );
        assert_eq!(
            NotificationKind::PasswordChanged.to_string(),
            "password_changed"
        );
    }
}
