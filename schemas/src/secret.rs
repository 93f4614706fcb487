//! `Secret`: a credential that never shows up in logs, errors, metrics or `Debug` output.
//!
//! In a config file a secret is written as a table naming where to read it from —
//! `{ env = "TOP_APP_SECRET" }` or `{ file = "/run/secrets/top" }` — or, for the platforms'
//! public documentation-example credentials and tests, as a plain string. The value is read
//! when the config is loaded; afterwards only [`Secret::expose`] reveals it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A credential; `Debug`, `Display` and `Serialize` print `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Returns the value; call it only where the value is sent to its destination.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Returns true when no value is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SecretSource {
    Plain(String),
    /// An all-digit value that a config layer read as a number (e.g. an environment override).
    Number(i64),
    Env {
        env: String,
    },
    File {
        file: String,
    },
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match SecretSource::deserialize(deserializer)? {
            SecretSource::Plain(value) => Ok(Secret(value)),
            SecretSource::Number(value) => Ok(Secret(value.to_string())),
            SecretSource::Env { env } => std::env::var(&env).map(Secret).map_err(|_| {
                serde::de::Error::custom(format!("secret: environment variable {env} is not set"))
            }),
            SecretSource::File { file } => std::fs::read_to_string(&file)
                .map(|value| Secret(value.trim_end_matches(['\r', '\n']).to_owned()))
                .map_err(|error| {
                    serde::de::Error::custom(format!("secret: cannot read file {file}: {error}"))
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        token: Secret,
    }

    #[test]
    fn never_printed() {
        let holder: Holder = serde_json::from_str(r#"{"token":"hunter2"}"#).unwrap();
        assert_eq!(holder.token.expose(), "hunter2");
        let shown = format!(
            "{holder:?} {} {}",
            holder.token,
            serde_json::to_string(&holder.token).unwrap()
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn an_all_digit_value_is_a_secret_too() {
        let holder: Holder = serde_json::from_str(r#"{"token":12345}"#).unwrap();
        assert_eq!(holder.token.expose(), "12345");
    }

    #[test]
    fn read_from_a_file_or_a_missing_env_var_errors() {
        let dir = std::env::temp_dir().join(format!("secret-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "s3cr3t\n").unwrap();
        let json = format!(r#"{{"token":{{"file":"{}"}}}}"#, path.display());
        let holder: Holder = serde_json::from_str(&json).unwrap();
        assert_eq!(holder.token.expose(), "s3cr3t");

        let error = serde_json::from_str::<Holder>(
            r#"{"token":{"env":"SHOPWATCH_TEST_SURELY_UNSET_VAR"}}"#,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("SHOPWATCH_TEST_SURELY_UNSET_VAR"),
            "{error}"
        );
    }
}
