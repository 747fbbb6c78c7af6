//! Named database connections: where they are defined, how a flow finds them, and where
//! their passwords come from.
//!
//! A flow names a connection (`"connection": "crm"`) and never holds a host or a password,
//! so a flow file can be shared in git. Definitions live in `sluice.connections.json`:
//! first the nearest one in the flow's folder or a parent folder (the project's, committed),
//! then the user's `~/.config/sluice/connections.json` (`$SLUICE_CONFIG_DIR` or
//! `$XDG_CONFIG_HOME/sluice` when set). The project's file wins when both define a name.
//!
//! Passwords are never written in either file: a `password` key is refused. A connection
//! names an environment variable (`password_env`) or asks for the OS keychain
//! (`password_keyring`: service `sluice`, account = the connection's name). A node may also
//! give a `url` directly, but a URL carrying a password is accepted only when the whole URL
//! came from the environment (`"url": "${env:PG_URL}"`).
//!
//! Left out: connection pooling across runs, SSH tunnels, and cloud IAM logins.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// File name of a project's connection definitions.
pub const PROJECT_FILE: &str = "sluice.connections.json";
/// Keychain service under which connection passwords are stored.
pub const KEYRING_SERVICE: &str = "sluice";

/// The database family of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// A SQLite database file: nothing to install.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::Sqlite => "sqlite",
            Driver::Postgres => "postgres",
            Driver::Mysql => "mysql",
        }
    }
    fn default_port(self) -> u16 {
        match self {
            Driver::Sqlite => 0,
            Driver::Postgres => 5432,
            Driver::Mysql => 3306,
        }
    }
}

/// One named connection in a connections file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDef {
    /// The name flows use (`"connection": "crm"`).
    pub name: String,
    /// `sqlite`, `postgres` or `mysql` (also for MariaDB).
    pub driver: Driver,
    /// SQLite: the database file, relative to the connections file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Server host name or address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Server port (5432 for PostgreSQL, 3306 for MySQL when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Database name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Name of the environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Take the password from the OS keychain (service `sluice`, account = the connection
    /// name). Store it with `sluice connections set-password NAME`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub password_keyring: bool,
    /// Driver options: `sslmode` (disable, prefer, require, verify-ca, verify-full),
    /// `sslrootcert`, `application_name`, `charset` (MySQL), `timezone` (MySQL).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// What this connection is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A connections file: `{"connections": [ ... ]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsFile {
    /// The connections, each with a unique name.
    #[serde(default)]
    pub connections: Vec<ConnectionDef>,
}

/// A connection problem, in plain words. Never contains a password.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectionError {
    pub message: String,
    pub hint: Option<String>,
}

impl ConnectionError {
    pub fn new(message: impl Into<String>) -> Self {
        ConnectionError { message: message.into(), hint: None }
    }
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
}

/// A connection definition with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundConnection {
    pub def: ConnectionDef,
    /// The file that defines it (relative SQLite paths resolve against its folder).
    pub file: PathBuf,
}

/// Where the user's own connections file is.
pub fn user_connections_file() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SLUICE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("connections.json"));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("sluice").join("connections.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config").join("sluice").join("connections.json"))
}

/// The nearest project connections file in `dir` or one of its parents.
pub fn project_connections_file(dir: &Path) -> Option<PathBuf> {
    let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    start.ancestors().map(|d| d.join(PROJECT_FILE)).find(|p| p.is_file())
}

/// Reads one connections file, refusing secrets and repeated names.
pub fn read_connections_file(path: &Path) -> Result<ConnectionsFile, ConnectionError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ConnectionError::new(format!("cannot read connections file {}: {e}", path.display())))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ConnectionError::new(format!("connections file {} is not valid JSON: {e}", path.display())))?;
    if let Some(list) = doc.get("connections").and_then(|c| c.as_array()) {
        for (i, c) in list.iter().enumerate() {
            let name = c.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            if c.get("password").is_some() || c.get("url").and_then(|u| u.as_str()).is_some_and(url_has_password) {
                return Err(ConnectionError::new(format!(
                    "connection '{name}' (number {} in {}) holds a password; passwords never go in a connections file",
                    i + 1,
                    path.display()
                ))
                .hint("remove it and set \"password_env\": \"NAME_OF_AN_ENV_VAR\", or \"password_keyring\": true to use the OS keychain"));
            }
        }
    }
    let file: ConnectionsFile = serde_path_to_error::deserialize(doc).map_err(|e| {
        ConnectionError::new(format!("connections file {}: {} at {}", path.display(), e.inner(), e.path()))
            .hint("each connection has name, driver (sqlite|postgres|mysql) and path or host/port/database/user, password_env, password_keyring, options")
    })?;
    let mut seen = std::collections::HashSet::new();
    for c in &file.connections {
        if !seen.insert(c.name.as_str()) {
            return Err(ConnectionError::new(format!("connection '{}' is defined twice in {}", c.name, path.display())));
        }
        if c.driver == Driver::Sqlite && c.path.is_none() {
            return Err(ConnectionError::new(format!("SQLite connection '{}' in {} has no \"path\"", c.name, path.display()))
                .hint("give the database file, relative to the connections file, e.g. \"path\": \"data/crm.db\""));
        }
    }
    Ok(file)
}

/// Every connection visible from a flow folder: the project's, then the user's (a name in
/// both is the project's).
pub fn visible_connections(base_dir: &Path) -> Result<Vec<FoundConnection>, ConnectionError> {
    let mut out: Vec<FoundConnection> = Vec::new();
    let files = [project_connections_file(base_dir), user_connections_file().filter(|p| p.is_file())];
    for file in files.into_iter().flatten() {
        for def in read_connections_file(&file)?.connections {
            if !out.iter().any(|c| c.def.name == def.name) {
                out.push(FoundConnection { def, file: file.clone() });
            }
        }
    }
    Ok(out)
}

/// Finds the connection `name` for a flow in `base_dir`.
pub fn find_connection(base_dir: &Path, name: &str) -> Result<FoundConnection, ConnectionError> {
    let all = visible_connections(base_dir)?;
    if let Some(c) = all.iter().find(|c| c.def.name == name) {
        return Ok(c.clone());
    }
    let names: Vec<&str> = all.iter().map(|c| c.def.name.as_str()).collect();
    let mut err = ConnectionError::new(format!("no connection named '{name}'"));
    err = match crate::flow::did_you_mean(name, names.iter().copied()) {
        Some(s) => err.hint(format!("did you mean '{s}'?")),
        None if names.is_empty() => err.hint(format!(
            "define it in {PROJECT_FILE} beside the flow (or in a parent folder), or in {}",
            user_connections_file().map(|p| p.display().to_string()).unwrap_or_else(|| "~/.config/sluice/connections.json".into())
        )),
        None => err.hint(format!("known connections: {}", names.join(", "))),
    };
    Err(err)
}

/// Where a password comes from. (Debug never shows an inline password.)
#[derive(Clone, PartialEq)]
pub enum PasswordSource {
    None,
    Env(String),
    Keyring,
    EnvOrKeyring(String),
    /// Given inside a URL that came from the environment.
    Inline(String),
}

impl fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::None => f.write_str("None"),
            PasswordSource::Env(v) => write!(f, "Env({v})"),
            PasswordSource::Keyring => f.write_str("Keyring"),
            PasswordSource::EnvOrKeyring(v) => write!(f, "EnvOrKeyring({v})"),
            PasswordSource::Inline(_) => f.write_str("Inline(***)"),
        }
    }
}

/// A connection ready to open: the driver, the target and the password source. Shown
/// (Display) without any secret.
#[derive(Clone, PartialEq)]
pub struct ConnectionSpec {
    /// The name users know it by (`crm`, or `url` for a node-level URL).
    pub name: String,
    pub driver: Driver,
    pub target: Target,
    pub password: PasswordSource,
    /// Where the definition came from (for messages).
    pub defined_in: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Sqlite { path: PathBuf },
    Server { host: String, port: u16, database: Option<String>, user: Option<String>, options: BTreeMap<String, String> },
}

impl fmt::Debug for ConnectionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionSpec({self})")
    }
}

impl fmt::Display for ConnectionSpec {
    /// `connection 'crm' (postgres postgres@127.0.0.1:5432/test)`; never a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection '{}' ({} {})", self.name, self.driver.name(), self.target_text())
    }
}

impl ConnectionSpec {
    /// Where it points, without secrets: a file path or `user@host:port/db`.
    pub fn target_text(&self) -> String {
        match &self.target {
            Target::Sqlite { path } => path.display().to_string(),
            Target::Server { host, port, database, user, .. } => {
                let user = user.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
                let db = database.as_deref().map(|d| format!("/{d}")).unwrap_or_default();
                format!("{user}{host}:{port}{db}")
            }
        }
    }

    /// Builds a spec from a definition found in a connections file.
    pub fn from_found(found: &FoundConnection) -> Result<Self, ConnectionError> {
        let d = &found.def;
        let dir = found.file.parent().unwrap_or(Path::new("."));
        let target = match d.driver {
            Driver::Sqlite => {
                let p = expand_env(d.path.as_deref().unwrap_or_default(), &d.name)?;
                let p = PathBuf::from(p);
                Target::Sqlite { path: if p.is_absolute() { p } else { dir.join(p) } }
            }
            driver => Target::Server {
                host: expand_env(d.host.as_deref().unwrap_or("127.0.0.1"), &d.name)?,
                port: d.port.unwrap_or(driver.default_port()),
                database: d.database.as_deref().map(|s| expand_env(s, &d.name)).transpose()?,
                user: d.user.as_deref().map(|s| expand_env(s, &d.name)).transpose()?,
                options: d.options.clone(),
            },
        };
        let password = match (&d.password_env, d.password_keyring) {
            (Some(v), true) => PasswordSource::EnvOrKeyring(v.clone()),
            (Some(v), false) => PasswordSource::Env(v.clone()),
            (None, true) => PasswordSource::Keyring,
            (None, false) => PasswordSource::None,
        };
        Ok(ConnectionSpec { name: d.name.clone(), driver: d.driver, target, password, defined_in: Some(found.file.clone()) })
    }

    /// Builds a spec from a node's `url` (`postgres://user@host:5432/db?sslmode=require`,
    /// `mysql://root@127.0.0.1/test`, `sqlite:data/x.db`). A password in the URL is accepted
    /// only when the whole URL is the value of an environment variable, i.e. it was written
    /// as `${env:NAME}` in the flow.
    pub fn from_url(url: &str, base_dir: &Path) -> Result<Self, ConnectionError> {
        let (scheme, rest) = url
            .split_once(':')
            .ok_or_else(|| ConnectionError::new("the url has no scheme").hint("write postgres://…, mysql://… or sqlite:path/to/file.db"))?;
        let driver = match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Driver::Postgres,
            "mysql" | "mariadb" => Driver::Mysql,
            "sqlite" => Driver::Sqlite,
            other => {
                return Err(ConnectionError::new(format!("unknown database in url: '{other}'")).hint("use postgres://, mysql:// or sqlite:"))
            }
        };
        if driver == Driver::Sqlite {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            let p = PathBuf::from(path);
            let path = if p.is_absolute() { p } else { base_dir.join(p) };
            return Ok(ConnectionSpec {
                name: "url".into(),
                driver,
                target: Target::Sqlite { path },
                password: PasswordSource::None,
                defined_in: None,
            });
        }
        let rest =
            rest.strip_prefix("//").ok_or_else(|| ConnectionError::new("the url must look like postgres://user@host:port/database"))?;
        let (authority_path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = authority_path.split_once('/').unwrap_or((authority_path, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(percent_decode(u)), Some(percent_decode(p))),
                None => (Some(percent_decode(u)), None),
            },
            None => (None, None),
        };
        let password = match password {
            None => PasswordSource::None,
            Some(p) => {
                if !std::env::vars().any(|(_, v)| v == url) {
                    return Err(ConnectionError::new("the url holds a password, which must never be written in a flow")
                        .hint("put the whole URL in an environment variable and write \"url\": \"${env:NAME}\", or define a named connection with password_env"));
                }
                PasswordSource::Inline(p)
            }
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (
                h.trim_matches(['[', ']']).to_string(),
                p.parse::<u16>().map_err(|_| ConnectionError::new(format!("'{p}' is not a port number")))?,
            ),
            _ => (hostport.trim_matches(['[', ']']).to_string(), driver.default_port()),
        };
        let mut options = BTreeMap::new();
        for pair in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            options.insert(percent_decode(k), percent_decode(v));
        }
        let database = (!path.is_empty()).then(|| percent_decode(path));
        Ok(ConnectionSpec {
            name: "url".into(),
            driver,
            target: Target::Server { host: if host.is_empty() { "127.0.0.1".into() } else { host }, port, database, user, options },
            password,
            defined_in: None,
        })
    }

    /// Resolves a node's `connection` name or `url`.
    pub fn for_node(connection: Option<&str>, url: Option<&str>, base_dir: &Path) -> Result<Self, ConnectionError> {
        match (connection, url) {
            (Some(_), Some(_)) => Err(ConnectionError::new("give either \"connection\" or \"url\", not both")),
            (Some(name), None) => ConnectionSpec::from_found(&find_connection(base_dir, name)?),
            (None, Some(url)) => ConnectionSpec::from_url(url, base_dir),
            (None, None) => Err(ConnectionError::new("no connection given")
                .hint("set \"connection\" to the name of a connection in sluice.connections.json")),
        }
    }

    /// The password, from the environment or the keychain. `Ok(None)` when the connection
    /// has none (trust or socket authentication, or libpq's PGPASSWORD).
    pub fn password(&self) -> Result<Option<String>, ConnectionError> {
        let from_env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
        match &self.password {
            PasswordSource::None => Ok(None),
            PasswordSource::Inline(p) => Ok(Some(p.clone())),
            PasswordSource::Env(var) => from_env(var).map(Some).ok_or_else(|| {
                ConnectionError::new(format!("{} needs a password from the environment variable {var}, which is not set", self))
                    .hint(format!("set {var} before running (export {var}=…), or store the password in the OS keychain and set \"password_keyring\": true"))
            }),
            PasswordSource::Keyring => self.keyring_password().map(Some),
            PasswordSource::EnvOrKeyring(var) => match from_env(var) {
                Some(p) => Ok(Some(p)),
                None => self.keyring_password().map(Some).map_err(|e| {
                    ConnectionError::new(format!("{}: the environment variable {var} is not set, and {}", self, e.message))
                        .hint(e.hint.unwrap_or_default())
                }),
            },
        }
    }

    #[cfg(feature = "keychain")]
    fn keyring_password(&self) -> Result<String, ConnectionError> {
        let hint = format!("store it with `sluice connections set-password {}`", self.name);
        let entry = keyring::Entry::new(KEYRING_SERVICE, &self.name)
            .map_err(|e| ConnectionError::new(format!("the OS keychain is not available ({e})")).hint(hint.clone()))?;
        entry.get_password().map_err(|e| match e {
            keyring::Error::NoEntry => {
                ConnectionError::new(format!("the OS keychain has no password for service '{KEYRING_SERVICE}', account '{}'", self.name))
                    .hint(hint.clone())
            }
            other => ConnectionError::new(format!("cannot read the password of '{}' from the OS keychain: {other}", self.name))
                .hint(hint.clone()),
        })
    }

    #[cfg(not(feature = "keychain"))]
    fn keyring_password(&self) -> Result<String, ConnectionError> {
        Err(ConnectionError::new("this build of Sluice has no OS keychain support (feature `keychain`)").hint("use password_env instead"))
    }
}

/// Stores a connection's password in the OS keychain.
#[cfg(feature = "keychain")]
pub fn store_keyring_password(name: &str, password: &str) -> Result<(), ConnectionError> {
    let entry =
        keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| ConnectionError::new(format!("the OS keychain is not available ({e})")))?;
    entry.set_password(password).map_err(|e| ConnectionError::new(format!("cannot store the password in the OS keychain: {e}")))
}

/// Whether a URL carries a password (`scheme://user:secret@host`).
pub fn url_has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else { return false };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// `${env:NAME}` in a connection file's host, database, user or path.
fn expand_env(s: &str, conn: &str) -> Result<String, ConnectionError> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${env:") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 6..];
        let end = after.find('}').ok_or_else(|| ConnectionError::new(format!("connection '{conn}': unclosed ${{env:… in {s:?}")))?;
        let var = &after[..end];
        let val = std::env::var(var)
            .map_err(|_| ConnectionError::new(format!("connection '{conn}' uses the environment variable {var}, which is not set")))?;
        out.push_str(&val);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_without_password_parses_and_hides_nothing_secret() {
        let s = ConnectionSpec::from_url("postgres://postgres@127.0.0.1:5432/test?sslmode=disable", Path::new("/tmp")).unwrap();
        assert_eq!(s.driver, Driver::Postgres);
        assert_eq!(s.to_string(), "connection 'url' (postgres postgres@127.0.0.1:5432/test)");
        match &s.target {
            Target::Server { options, .. } => assert_eq!(options.get("sslmode").map(String::as_str), Some("disable")),
            _ => panic!(),
        }
        let s = ConnectionSpec::from_url("sqlite:data/x.db", Path::new("/flows")).unwrap();
        assert_eq!(s.target_text(), "/flows/data/x.db");
    }

    #[test]
    fn url_with_literal_password_is_refused() {
        let e = ConnectionSpec::from_url("postgres://bob:hunter2@db:5432/x", Path::new("/")).unwrap_err();
        assert!(e.message.contains("holds a password"), "{e}");
        assert!(!e.to_string().contains("hunter2"));
        assert!(url_has_password("mysql://a:b@h/db"));
        assert!(!url_has_password("mysql://a@h/db"));
    }

    #[test]
    fn connections_file_with_password_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(PROJECT_FILE);
        std::fs::write(&p, r#"{"connections":[{"name":"crm","driver":"postgres","host":"h","password":"x"}]}"#).unwrap();
        let e = read_connections_file(&p).unwrap_err();
        assert!(e.message.contains("connection 'crm'") && e.message.contains("holds a password"), "{e}");
        assert!(e.hint.unwrap().contains("password_env"));
    }

    #[test]
    fn project_file_found_in_a_parent_and_sqlite_path_is_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PROJECT_FILE), r#"{"connections":[{"name":"cc","driver":"sqlite","path":"db/cc.db"}]}"#).unwrap();
        let sub = dir.path().join("flows/a");
        std::fs::create_dir_all(&sub).unwrap();
        let spec = ConnectionSpec::for_node(Some("cc"), None, &sub).unwrap();
        assert_eq!(spec.target, Target::Sqlite { path: dir.path().canonicalize().unwrap().join("db/cc.db") });
        let e = ConnectionSpec::for_node(Some("ccc"), None, &sub).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean 'cc'?"));
    }

    #[test]
    fn missing_password_env_is_a_clear_error() {
        let found = FoundConnection {
            def: ConnectionDef {
                name: "crm".into(),
                driver: Driver::Postgres,
                path: None,
                host: Some("db".into()),
                port: None,
                database: Some("crm".into()),
                user: Some("etl".into()),
                password_env: Some("SLUICE_TEST_SURELY_UNSET_PW".into()),
                password_keyring: false,
                options: BTreeMap::new(),
                description: String::new(),
            },
            file: PathBuf::from("/p/sluice.connections.json"),
        };
        let spec = ConnectionSpec::from_found(&found).unwrap();
        let e = spec.password().unwrap_err();
        assert!(e.message.contains("SLUICE_TEST_SURELY_UNSET_PW") && e.message.contains("connection 'crm'"), "{e}");
    }
}
