//! What a web console session may see and do: everything (an admin) or the
//! accounts of some units (a contact), and who the audit trail names.

/// The reach of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Admin,
    /// A contact of these units (ids).
    Units(Vec<String>),
}

impl Grant {
    pub fn is_admin(&self) -> bool {
        matches!(self, Grant::Admin)
    }

    /// Whether this grant reaches the unit `unit` (admins: every unit).
    pub fn sees_unit(&self, unit: &str) -> bool {
        match self {
            Grant::Admin => true,
            Grant::Units(units) => units.iter().any(|u| u == unit),
        }
    }

    /// How it is stored: (role, comma-separated units).
    pub fn to_row(&self) -> (&'static str, String) {
        match self {
            Grant::Admin => ("admin", String::new()),
            Grant::Units(units) => ("contact", units.join(",")),
        }
    }

    /// Reads a stored row; an unknown role reaches nothing.
    pub fn from_row(role: &str, units: &str) -> Grant {
        match role {
            "admin" => Grant::Admin,
            _ => Grant::Units(
                units
                    .split(',')
                    .filter(|u| !u.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
        }
    }
}

/// A signed-in person: their grant and their name, as audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signin {
    pub grant: Grant,
    /// "张新", "管理员 王科" — the audit trail adds （网页）.
    pub person: String,
}

impl Signin {
    /// The name the audit trail and the chats give changes made in the console.
    pub fn actor(&self) -> String {
        let name: String = self.person.split_whitespace().collect::<Vec<_>>().join("·");
        format!("{name}（网页）")
    }
}

/// The person an audit actor names: "telegram:5 周磊" → "周磊", "命令行 root"
/// → "root"; a console actor ("周磊（网页）") is kept whole.
pub fn person_of(actor: &str) -> &str {
    actor.split_once(' ').map_or(actor, |(_, name)| name.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_survives_its_row_and_a_contact_sees_only_their_units() {
        let grant = Grant::Units(vec!["yt".into(), "ls".into()]);
        let (role, units) = grant.to_row();
        assert_eq!(Grant::from_row(role, &units), grant);
        assert!(grant.sees_unit("ls") && !grant.sees_unit("lq"));
        assert!(Grant::Admin.sees_unit("lq"));
        assert_eq!(Grant::from_row("admin", ""), Grant::Admin);
        // A damaged row is no admin.
        assert_eq!(Grant::from_row("root", ""), Grant::Units(vec![]));
    }
}
