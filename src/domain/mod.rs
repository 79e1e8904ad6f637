//! The nouns several modules share, with no I/O, no settings and no
//! command line: rules, settings, storage, reports and the chats import
//! these instead of each other.

mod contact;
mod grant;
mod message;
mod proxy;
mod robot;
mod rule;
mod suggest;
pub mod toml_error;

pub use contact::{is_hidden_control, is_open_id};
pub use grant::{Grant, Signin, person_of};
pub use message::{Channel, ChatTarget, Mention, Message};
pub use proxy::ProxyHealth;
pub use robot::{FileKind, RobotKind};
pub use rule::{Rule, Severity};
pub use suggest::suggest;
