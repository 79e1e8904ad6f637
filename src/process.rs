//! This process among others on one database: the name it claims work
//! under, whether another holder is gone, and the text of a panic.

/// Who claims jobs: host and process.
pub fn owner() -> String {
    format!("{}:{}", host_name(), std::process::id())
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "xunjian".to_string())
}

/// Whether the process an [`owner`] string names is gone: this very
/// process's name (a restarted container has the pid of its predecessor),
/// or a process of this host that no longer runs. Processes of other hosts
/// and unreadable names count as alive: their claims wait for the lease.
pub fn is_gone(holder: &str) -> bool {
    if holder == owner() {
        return true;
    }
    let Some((host, pid)) = holder.rsplit_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    let proc = std::path::Path::new("/proc");
    host == host_name() && proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

/// The message of a panic payload.
pub fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// How this program names itself to the chat platforms it talks to.
pub const USER_AGENT: &str = concat!("xunjian/", env!("CARGO_PKG_VERSION"));
