//! Who may use `taskq web`: the users of an auth file (`--auth-file`), one
//! a line, `NAME ROLE HASH`, the hash an argon2 PHC string that `taskq web
//! hash-password` makes; `#` starts a comment. A request names a user with
//! HTTP basic auth, or with `Authorization: Bearer NAME:SECRET` (a token is
//! a user whose password is the secret). Roles: `viewer` reads, `operator`
//! also enqueues and changes jobs.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }

    fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

/// How long a checked password is taken without hashing it again: argon2
/// is slow on purpose, and an API client sends its password each request.
const REMEMBERED: Duration = Duration::from_secs(300);

/// The users of an auth file.
pub struct Users {
    users: HashMap<String, (Role, String)>,
    /// Passwords checked lately, by a keyed hash of user and password (the
    /// key random per process, so a match cannot be forged), with when.
    checked: Mutex<HashMap<u64, Instant>>,
    keyed: RandomState,
    /// A hash no password matches, checked for unknown users.
    decoy: String,
}

impl Users {
    /// Reads an auth file; the error names the line and what to fix.
    pub fn load(path: &Path) -> Result<Users, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the auth file {shown}: {e}"))?;
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate().map(|(n, l)| (n + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, role, hash] = fields[..] else {
                return Err(format!(
                    "{shown}:{n}: expected NAME ROLE HASH (the hash from `taskq web hash-password`), found {} fields",
                    fields.len()
                ));
            };
            if name.contains(':') {
                return Err(format!("{shown}:{n}: a user name cannot hold ':' (basic auth splits on it)"));
            }
            let role = Role::parse(role)
                .ok_or_else(|| format!("{shown}:{n}: unknown role \"{role}\": use viewer or operator"))?;
            PasswordHash::new(hash).map_err(|e| {
                format!("{shown}:{n}: the hash of \"{name}\" is not a PHC string ({e}): make one with `taskq web hash-password`")
            })?;
            if users.insert(name.to_string(), (role, hash.to_string())).is_some() {
                return Err(format!("{shown}:{n}: user \"{name}\" is listed twice"));
            }
        }
        if users.is_empty() {
            return Err(format!("the auth file {shown} lists no user: add NAME ROLE HASH lines"));
        }
        let decoy = hash_password(&format!("{:x}", RandomState::new().hash_one(0u8)))?;
        Ok(Users { users, checked: Mutex::new(HashMap::new()), keyed: RandomState::new(), decoy })
    }

    /// How many users the file lists.
    pub fn count(&self) -> usize {
        self.users.len()
    }

    /// The role of user `name` if `password` was found to be its password
    /// lately: no hashing, so a client that sends its password with each
    /// request is let in at once, whatever others tried from its address.
    pub fn remembered(&self, name: &str, password: &str) -> Option<Role> {
        let (role, _) = self.users.get(name)?;
        let key = self.keyed.hash_one((name, password));
        let now = Instant::now();
        let mut checked = self.checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        checked.retain(|_, at| now.duration_since(*at) < REMEMBERED);
        checked.contains_key(&key).then_some(*role)
    }

    /// The role of user `name`, if `password` is its password. An unknown
    /// user costs a check too, so that timing does not tell who exists.
    pub fn check(&self, name: &str, password: &str) -> Option<Role> {
        let Some((role, hash)) = self.users.get(name) else {
            let parsed = PasswordHash::new(&self.decoy).ok()?;
            let _ = argon2::Argon2::default().verify_password(password.as_bytes(), &parsed);
            return None;
        };
        if let Some(role) = self.remembered(name, password) {
            return Some(role);
        }
        let key = self.keyed.hash_one((name, password));
        let now = Instant::now();
        let parsed = PasswordHash::new(hash).ok()?;
        argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).ok()?;
        self.checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, now);
        Some(*role)
    }
}

/// User and password from `Basic base64(user:password)` or `Bearer user:secret`.
pub fn credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let pair = if scheme.eq_ignore_ascii_case("basic") {
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?).ok()?
    } else if scheme.eq_ignore_ascii_case("bearer") {
        value.trim().to_string()
    } else {
        return None;
    };
    let (name, password) = pair.split_once(':')?;
    Some((name.to_string(), password.to_string()))
}

/// An argon2id PHC string for `password`, with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{Role, Users, credentials, hash_password};
    use base64::Engine as _;

    #[test]
    fn users_are_checked_by_basic_auth_and_bearer_tokens() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("users");
        let ops = hash_password("s3cret").expect("hash");
        let viewer = hash_password("look").expect("hash");
        std::fs::write(&path, format!("# who\nops operator {ops}\nboard viewer {viewer}\n")).expect("write");
        let users = Users::load(&path).expect("loads");
        let basic = |pair: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
        let check = |header: &str| credentials(header).and_then(|(name, password)| users.check(&name, &password));
        assert_eq!(check(&basic("ops:s3cret")), Some(Role::Operator));
        assert_eq!(check(&basic("ops:s3cret")), Some(Role::Operator), "remembered");
        assert_eq!(check("Bearer board:look"), Some(Role::Viewer));
        assert_eq!(check(&basic("ops:wrong")), None);
        assert_eq!(check(&basic("nobody:s3cret")), None);
        assert_eq!(check("Digest ops"), None);
        assert_eq!(check("Basic !!!"), None);
    }

    #[test]
    fn a_bad_auth_file_is_refused_naming_the_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("users");
        for (text, error) in [
            ("ops operator\n", "users:1: expected NAME ROLE HASH"),
            ("ops admin $argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n", "unknown role \"admin\""),
            ("ops operator plaintext\n", "is not a PHC string"),
            ("# nobody\n", "lists no user"),
        ] {
            std::fs::write(&path, text).expect("write");
            let e = Users::load(&path).err().unwrap_or_default();
            assert!(e.contains(error), "{text:?}: {e}");
        }
    }
}
