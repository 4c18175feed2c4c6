//! Leads pages: the list, New lead, the lead page with its Actions card, editing, and the
//! assignment buttons, a file each.

mod assignment;
mod edit;
mod list;
mod new;
mod show;

pub use assignment::{assign, claim, unassign};
pub use edit::update;
pub use list::list;
pub use new::{create, new_form};
pub use show::show;

use serde::Deserialize;

use crate::domain::lead::{LeadInput, LeadStatus};
use crate::store::users::User;

type Options = Vec<(String, String)>;

fn status_options() -> Options {
    LeadStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
        .collect()
}

/// Members who may be given a lead: active and sales-capable, in team order.
fn assignable(members: &[User]) -> impl Iterator<Item = &User> {
    members
        .iter()
        .filter(|m| m.active && m.role.is_sales_capable())
}

#[derive(Debug, Default, Deserialize)]
pub struct LeadForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    company_size: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    status: String,
}

impl LeadForm {
    fn input(&self) -> LeadInput {
        LeadInput {
            name: Some(self.name.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            company: Some(self.company.clone()),
            notes: Some(self.notes.clone()),
            country: Some(self.country.clone()),
            company_size: Some(self.company_size.clone()),
        }
    }
}
