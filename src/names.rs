//! Names users choose: job and queue names. Both end up in broker keys and
//! log lines, so they are validated once, on construction.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 200 bytes.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 200
        && matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Validates `name`; the error explains the allowed form.
            pub fn new(name: &str) -> Result<Self, String> {
                if valid_name(name) {
                    Ok(Self(name.to_string()))
                } else {
                    Err(format!(
                        concat!("invalid ", $what, " name \"{}\": use letters, digits, '_', '.' and '-', starting with a letter or digit"),
                        name
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::new(&s)
            }
        }

        impl From<$ty> for String {
            fn from(n: $ty) -> String {
                n.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The name of a job in jobs.toml.
    JobName,
    "job"
);
name_type!(
    /// The name of a queue.
    QueueName,
    "queue"
);

name_type!(
    /// A namespace: part of every broker key, so several applications can
    /// share one broker.
    Namespace,
    "namespace"
);

impl Namespace {
    /// The namespace when none is configured.
    pub fn default_namespace() -> Namespace {
        Namespace("taskq".to_string())
    }
}

impl QueueName {
    /// The queue jobs go to when nothing says otherwise.
    pub fn default_queue() -> QueueName {
        QueueName("default".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(JobName::new("send-welcome_email.v2").is_ok());
        assert!(JobName::new("-x").is_err());
        assert!(JobName::new("").is_err());
        assert!(QueueName::new("a{b}").unwrap_err().contains("invalid queue name"));
    }
}
