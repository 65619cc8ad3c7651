//! The owner a record names: the user name of this process's effective
//! uid from /etc/passwd, or the uid itself when it has no name.

use std::os::unix::fs::MetadataExt;

/// The calling user's name (or uid).
pub fn current_owner() -> String {
    // /proc/self belongs to the process's effective uid.
    let uid = match std::fs::metadata("/proc/self") {
        Ok(m) => m.uid(),
        Err(_) => return String::new(),
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    user_name(&passwd, uid).unwrap_or_else(|| uid.to_string())
}

/// The name of `uid` in passwd(5) text.
pub fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_third_field() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(user_name(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(user_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_name(passwd, 5), None);
    }
}
