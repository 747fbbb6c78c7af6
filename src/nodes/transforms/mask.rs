//! `mask`: hides personal data field by field — partial masks and presets for mobile
//! numbers, ID numbers, bank cards, e-mails and names, full redaction, SHA-256 with a salt,
//! HMAC-SHA-256, and reversible AES-256-GCM encryption. The code is that of
//! `crate::functions::mask` and `crate::functions::hash`, shared with scripts.
//!
//! Salts and keys never sit in the flow file. A rule names the environment variable that
//! holds one (`salt_env`, `key_env`: the preferred form), or writes `"${env:NAME}"` in
//! `salt` / `key`. Because the node only ever sees a config after `${…}` substitution, it
//! accepts a `salt` or `key` value only when it is the value of an environment variable;
//! anything else is taken for a secret typed into the file and rejected.
//!
//! Every masked field leaves as text. A rule may write to another field (`output_field`),
//! new fields being added after the input's. A value that cannot be decrypted sends its row
//! to `error`; nothing else here fails on a value. Nulls stay null.
//!
//! Left out: format-preserving encryption, tokenisation with a lookup vault, and key
//! rotation.

use super::cleanse::unknown_field;
use crate::exec::{BlockingNode, NodeError, NodeIo, RowError};
use crate::functions::hash::{AesGcmKey, HmacSha256, SaltedSha256};
use crate::functions::mask::{mask_bank_card, mask_email, mask_name, mask_partial, MASK_CHAR, REDACTED};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas};
use crate::value::{Batch, DataType, Field, Row, Schema, SchemaRef, Value};
use compact_str::CompactString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Masks, hashes or encrypts fields, one rule per field, applied in order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaskConfig {
    /// The rules, applied in order; a rule may read a field an earlier rule wrote. Example:
    /// `[{"field": "phone", "method": "mobile"}, {"field": "id_card", "method": "sha256",
    /// "salt_env": "ID_SALT"}]`.
    pub fields: Vec<MaskRule>,
}

/// How to hide one field.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaskRule {
    /// The field to mask.
    #[schemars(extend("x-field" = "in"))]
    pub field: String,
    /// How: `partial` (keep_first / keep_last characters), `mobile` (`138****5678`),
    /// `id_card` (`110105********114X`), `bank_card` (last 4), `email` (`z***@qq.com`),
    /// `name` (`张*`, `欧阳**`, `K**** N*****`), `redact` (a fixed text), `sha256` (hex, with an
    /// optional salt put before the value), `hmac_sha256` (hex, needs a key), `encrypt` /
    /// `decrypt` (AES-256-GCM, base64 of nonce ‖ ciphertext ‖ tag, needs a key).
    pub method: MaskMethod,
    /// Characters kept at the start: for `partial` (default 0), `mobile` (3), `id_card` (6)
    /// and `bank_card` (0; 6 shows the issuing bank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub keep_first: Option<usize>,
    /// Characters kept at the end: for `partial` (default 0), `mobile` (4), `id_card` (4) and
    /// `bank_card` (4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub keep_last: Option<usize>,
    /// The character that replaces hidden ones (default `*`), for the masking methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_char: Option<char>,
    /// What `redact` writes instead of the value (default `[REDACTED]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redact_text: Option<String>,
    /// For `sha256`: the name of the environment variable holding the salt (preferred).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt_env: Option<String>,
    /// For `sha256`: the salt, written as `${env:NAME}`; a salt typed into the flow file is
    /// rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-secret" = true))]
    pub salt: Option<String>,
    /// For `hmac_sha256`, `encrypt`, `decrypt`: the name of the environment variable holding
    /// the key (preferred). AES keys are 64 hex characters or base64 of 32 bytes; an HMAC key
    /// is used as its UTF-8 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// For `hmac_sha256`, `encrypt`, `decrypt`: the key, written as `${env:NAME}`; a key
    /// typed into the flow file is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-secret" = true))]
    pub key: Option<String>,
    /// Write the result to this field instead of replacing the value (a new field is added
    /// after the input's fields; an existing one is overwritten).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_field: Option<String>,
}

/// A way of hiding a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaskMethod {
    /// Keep `keep_first` and `keep_last` characters, mask the rest.
    Partial,
    /// Chinese mobile number: `138****5678`.
    Mobile,
    /// ID number: `110105********114X`.
    IdCard,
    /// Bank card: spaces and dashes dropped, last 4 kept.
    BankCard,
    /// E-mail: `z***@qq.com`.
    Email,
    /// Person's name: `张*`, `欧阳**`, `K**** N*****`.
    Name,
    /// The whole value replaced by a fixed text.
    Redact,
    /// Lower-case hex SHA-256 of salt + value.
    Sha256,
    /// Lower-case hex HMAC-SHA-256 with a key.
    HmacSha256,
    /// AES-256-GCM encryption (base64), reversible with the key.
    Encrypt,
    /// Reverses `encrypt` with the same key.
    Decrypt,
}

impl MaskMethod {
    fn name(self) -> &'static str {
        match self {
            MaskMethod::Partial => "partial",
            MaskMethod::Mobile => "mobile",
            MaskMethod::IdCard => "id_card",
            MaskMethod::BankCard => "bank_card",
            MaskMethod::Email => "email",
            MaskMethod::Name => "name",
            MaskMethod::Redact => "redact",
            MaskMethod::Sha256 => "sha256",
            MaskMethod::HmacSha256 => "hmac_sha256",
            MaskMethod::Encrypt => "encrypt",
            MaskMethod::Decrypt => "decrypt",
        }
    }
    /// Default (keep_first, keep_last) for the methods that take counts.
    fn keep_defaults(self) -> Option<(usize, usize)> {
        match self {
            MaskMethod::Partial => Some((0, 0)),
            MaskMethod::Mobile => Some((3, 4)),
            MaskMethod::IdCard => Some((6, 4)),
            MaskMethod::BankCard => Some((0, 4)),
            _ => None,
        }
    }
    fn masks(self) -> bool {
        matches!(
            self,
            MaskMethod::Partial | MaskMethod::Mobile | MaskMethod::IdCard | MaskMethod::BankCard | MaskMethod::Email | MaskMethod::Name
        )
    }
    fn needs_key(self) -> bool {
        matches!(self, MaskMethod::HmacSha256 | MaskMethod::Encrypt | MaskMethod::Decrypt)
    }
}

pub struct Mask;

impl NodeKind for Mask {
    type Config = MaskConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "mask",
            category: Category::Transform,
            title: "Mask personal data",
            description: "Hides personal data: partial masks and presets (mobile, ID number, bank card, e-mail, name), redaction, salted SHA-256, HMAC, AES-GCM encryption.",
            keywords: &["mask", "redact", "anonymize", "pseudonymize", "hash", "sha256", "hmac", "encrypt", "decrypt", "PII", "GDPR", "PIPL", "脱敏", "加密"],
            icon: "eye-off",
        }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut names: Option<Vec<String>> = inputs.get("in").map(|s| s.names().map(str::to_string).collect());
        for (i, rule) in config.fields.iter().enumerate() {
            problems.extend(rule_problems(rule, i));
            if let Err(p) = Secrets::read(rule, i) {
                problems.push(p);
            }
            if let Some(names) = names.as_mut() {
                if !names.iter().any(|n| n == &rule.field) {
                    let schema = Schema::new(names.iter().map(|n| Field::new(n.clone(), DataType::String)).collect());
                    problems.push(unknown_field(format!("fields/{i}/field"), &rule.field, &schema));
                }
                if let Some(out) = &rule.output_field {
                    if !names.contains(out) {
                        names.push(out.clone());
                    }
                }
            }
        }
        problems
    }

    fn output_schemas(&self, config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        let Some(schema) = inputs.get("in") else { return Ok(PortSchemas::new()) };
        let (out, _) = layout(&config.fields, schema).map_err(|(i, f)| ConfigProblem::new(format!("fields/{i}/field"), format!("the input has no field '{f}'")))?;
        Ok(PortSchemas::from([("out".to_string(), out)]))
    }

    fn build(&self, config: Self::Config, _ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let mut rules = Vec::with_capacity(config.fields.len());
        for (i, rule) in config.fields.iter().enumerate() {
            if let Some(p) = rule_problems(rule, i).into_iter().next() {
                return Err(p);
            }
            let secrets = Secrets::read(rule, i)?;
            rules.push(Compiled { method: compile(rule, secrets), field: rule.field.clone() });
        }
        Ok(NodeTask::Blocking(Box::new(MaskTask { config: config.fields, rules })))
    }
}

/// Problems of a rule on its own: options that do not apply to its method, a missing key,
/// an empty output field.
fn rule_problems(rule: &MaskRule, i: usize) -> Vec<ConfigProblem> {
    let m = rule.method;
    let mut out = Vec::new();
    let mut not_for = |field: &str, what: &str| {
        out.push(ConfigProblem::new(format!("fields/{i}/{field}"), format!("{field} does not apply to the {} method", m.name())).hint(what.to_string()))
    };
    if m.keep_defaults().is_none() {
        if rule.keep_first.is_some() {
            not_for("keep_first", "keep_first and keep_last apply to partial, mobile, id_card and bank_card");
        }
        if rule.keep_last.is_some() {
            not_for("keep_last", "keep_first and keep_last apply to partial, mobile, id_card and bank_card");
        }
    }
    if !m.masks() && rule.mask_char.is_some() {
        not_for("mask_char", "mask_char applies to partial, mobile, id_card, bank_card, email and name");
    }
    if m != MaskMethod::Redact && rule.redact_text.is_some() {
        not_for("redact_text", "redact_text applies to the redact method");
    }
    if m != MaskMethod::Sha256 {
        if rule.salt.is_some() {
            not_for("salt", "a salt applies to sha256; hmac_sha256 takes a key");
        }
        if rule.salt_env.is_some() {
            not_for("salt_env", "a salt applies to sha256; hmac_sha256 takes a key");
        }
    }
    if !m.needs_key() {
        if rule.key.is_some() {
            not_for("key", "a key applies to hmac_sha256, encrypt and decrypt");
        }
        if rule.key_env.is_some() {
            not_for("key_env", "a key applies to hmac_sha256, encrypt and decrypt");
        }
    } else if rule.key.is_none() && rule.key_env.is_none() {
        out.push(
            ConfigProblem::new(format!("fields/{i}/key_env"), format!("the {} method needs a key", m.name()))
                .hint("put the key in an environment variable and name it in key_env, e.g. \"key_env\": \"SLUICE_MASK_KEY\""),
        );
    }
    if rule.output_field.as_deref().is_some_and(|f| f.trim().is_empty()) {
        out.push(ConfigProblem::new(format!("fields/{i}/output_field"), "the output field name is empty").hint("name the field, or leave output_field out to replace the value"));
    }
    out
}

/// A rule's salt and key, read from the environment.
#[derive(Default)]
struct Secrets {
    salt: Option<String>,
    hmac_key: Option<String>,
    aes_key: Option<AesGcmKey>,
}

impl Secrets {
    fn read(rule: &MaskRule, i: usize) -> Result<Secrets, ConfigProblem> {
        let mut s = Secrets::default();
        if rule.method == MaskMethod::Sha256 {
            s.salt = secret(rule.salt_env.as_deref(), rule.salt.as_deref(), "salt", i)?;
        }
        if rule.method.needs_key() {
            let Some(key) = secret(rule.key_env.as_deref(), rule.key.as_deref(), "key", i)? else {
                // Reported by rule_problems.
                return Ok(s);
            };
            let path = if rule.key_env.is_some() { "key_env" } else { "key" };
            if rule.method == MaskMethod::HmacSha256 {
                s.hmac_key = Some(key);
            } else {
                s.aes_key = Some(AesGcmKey::parse(&key).map_err(|e| {
                    ConfigProblem::new(format!("fields/{i}/{path}"), format!("the key cannot be used: {e}"))
                        .hint("make one with `openssl rand -hex 32` and keep it in the environment variable")
                })?);
            }
        }
        Ok(s)
    }
}

/// A salt or key from `NAME_env` (an environment variable's name) or from the value field
/// (written as `${env:NAME}`; see the planner's secret check).
fn secret(env_name: Option<&str>, value: Option<&str>, what: &str, i: usize) -> Result<Option<String>, ConfigProblem> {
    match (env_name, value) {
        (Some(_), Some(_)) => Err(ConfigProblem::new(format!("fields/{i}/{what}"), format!("both {what} and {what}_env are given"))
            .hint(format!("keep {what}_env (the name of the environment variable) and remove {what}"))),
        (Some(name), None) => {
            let path = format!("fields/{i}/{what}_env");
            let name = name.trim();
            if name.starts_with("${") || name.contains('=') || name.is_empty() {
                return Err(ConfigProblem::new(path, format!("{what}_env must be the name of an environment variable, such as SLUICE_SALT"))
                    .hint(format!("write the variable's name only: \"{what}_env\": \"NAME\"")));
            }
            match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(Some(v)),
                Ok(_) => Err(ConfigProblem::new(path, format!("environment variable {name} is empty (it should hold the {what})"))
                    .hint(format!("set {name} to the {what} before running"))),
                Err(_) => Err(ConfigProblem::new(path, format!("environment variable {name} is not set (it should hold the {what})"))
                    .hint(format!("set {name} before running, for example `export {name}=...`"))),
            }
        }
        // A value typed into the flow file was refused by the planner, which checks every
        // `x-secret` field as written (before `${env:...}` substitution).
        (None, Some(v)) => Ok(Some(v.to_string())),
        (None, None) => Ok(None),
    }
}

/// What a rule does, with its salt or key ready.
enum Method {
    Partial { first: usize, last: usize, mask: char },
    BankCard { first: usize, last: usize, mask: char },
    Email(char),
    Name(char),
    Redact(CompactString),
    Sha256(SaltedSha256),
    Hmac(HmacSha256),
    Encrypt(AesGcmKey),
    Decrypt(AesGcmKey),
}

fn compile(rule: &MaskRule, secrets: Secrets) -> Method {
    let mask = rule.mask_char.unwrap_or(MASK_CHAR);
    let (df, dl) = rule.method.keep_defaults().unwrap_or((0, 0));
    let (first, last) = (rule.keep_first.unwrap_or(df), rule.keep_last.unwrap_or(dl));
    match rule.method {
        MaskMethod::Partial | MaskMethod::Mobile | MaskMethod::IdCard => Method::Partial { first, last, mask },
        MaskMethod::BankCard => Method::BankCard { first, last, mask },
        MaskMethod::Email => Method::Email(mask),
        MaskMethod::Name => Method::Name(mask),
        MaskMethod::Redact => Method::Redact(rule.redact_text.as_deref().unwrap_or(REDACTED).into()),
        MaskMethod::Sha256 => Method::Sha256(SaltedSha256::new(secrets.salt.as_deref().unwrap_or(""))),
        MaskMethod::HmacSha256 => Method::Hmac(HmacSha256::new(secrets.hmac_key.unwrap_or_default().as_bytes())),
        MaskMethod::Encrypt => Method::Encrypt(secrets.aes_key.expect("checked in Secrets::read")),
        MaskMethod::Decrypt => Method::Decrypt(secrets.aes_key.expect("checked in Secrets::read")),
    }
}

impl Method {
    fn apply(&self, text: &str) -> Result<CompactString, String> {
        Ok(match self {
            Method::Partial { first, last, mask } => mask_partial(text, *first, *last, *mask).into(),
            Method::BankCard { first, last, mask } => {
                if *last == 4 {
                    mask_bank_card(text, *first, *mask).into()
                } else {
                    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
                    mask_partial(&compact, *first, *last, *mask).into()
                }
            }
            Method::Email(mask) => mask_email(text, *mask).into(),
            Method::Name(mask) => mask_name(text, *mask).into(),
            Method::Redact(t) => t.clone(),
            Method::Sha256(h) => CompactString::new(h.hash(text).as_str()),
            Method::Hmac(h) => CompactString::new(h.hash(text).as_str()),
            Method::Encrypt(k) => k.encrypt(text).into(),
            Method::Decrypt(k) => k.decrypt(text).map_err(|e| e.to_string())?.into(),
        })
    }
}

struct Compiled {
    method: Method,
    field: String,
}

/// The output schema, and per rule (source index, destination index), for an input schema.
/// `Err((rule index, field))` for a field that is not there.
#[allow(clippy::type_complexity)]
fn layout(rules: &[MaskRule], input: &Schema) -> Result<(SchemaRef, Vec<(usize, usize)>), (usize, String)> {
    let mut fields: Vec<Field> = input.fields().to_vec();
    let mut pairs = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let src = fields.iter().position(|f| f.name == rule.field).ok_or_else(|| (i, rule.field.clone()))?;
        let dst = match &rule.output_field {
            None => src,
            Some(name) => match fields.iter().position(|f| &f.name == name) {
                Some(d) => d,
                None => {
                    fields.push(Field::new(name.clone(), DataType::String));
                    fields.len() - 1
                }
            },
        };
        fields[dst].data_type = DataType::String;
        pairs.push((src, dst));
    }
    Ok((Arc::new(Schema::new(fields)), pairs))
}

struct MaskTask {
    config: Vec<MaskRule>,
    rules: Vec<Compiled>,
}

struct Resolved {
    input: SchemaRef,
    output: SchemaRef,
    pairs: Vec<(usize, usize)>,
}

impl BlockingNode for MaskTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let mut resolved: Option<Resolved> = None;
        let mut undo: Vec<(usize, Value)> = Vec::new();
        let mut problems: Vec<String> = Vec::new();
        let mut problem_fields: Vec<&str> = Vec::new();
        while let Some(batch) = io.recv("in")? {
            if !resolved.as_ref().is_some_and(|r| Arc::ptr_eq(&r.input, &batch.schema)) {
                let (output, pairs) = layout(&self.config, &batch.schema).map_err(|(i, f)| {
                    NodeError::msg(format!("the rows arriving have no field '{f}' (named in fields/{i}/field)")).with_field(f)
                })?;
                resolved = Some(Resolved { input: batch.schema.clone(), output, pairs });
            }
            let r = resolved.as_ref().expect("resolved above");
            let width_in = r.input.len();
            let width_out = r.output.len();
            let mut kept = Vec::with_capacity(batch.len());
            let mut errors = Vec::new();
            for mut row in batch.rows {
                undo.clear();
                problems.clear();
                problem_fields.clear();
                row.resize(width_out, Value::Null);
                for (rule, &(src, dst)) in self.rules.iter().zip(&r.pairs) {
                    let result = match &row[src] {
                        Value::Null => Ok(Value::Null),
                        Value::String(s) => rule.method.apply(s).map(Value::String),
                        other => rule.method.apply(&other.to_text().unwrap_or_default()).map(Value::String),
                    };
                    match result {
                        Ok(v) => {
                            if dst != src || !v.is_null() {
                                undo.push((dst, std::mem::replace(&mut row[dst], v)));
                            }
                        }
                        Err(e) => {
                            problems.push(format!("{}: {} ({})", rule.field, e, shown(&row[src])));
                            problem_fields.push(&rule.field);
                        }
                    }
                }
                if problems.is_empty() {
                    kept.push(row);
                } else {
                    while let Some((idx, old)) = undo.pop() {
                        row[idx] = old;
                    }
                    row.truncate(width_in);
                    errors.push(error_row(&problems, &problem_fields, row));
                }
            }
            io.send("out", Batch::new(r.output.clone(), kept))?;
            io.send_errors(&r.input, errors)?;
        }
        Ok(())
    }
}

fn error_row(problems: &[String], fields: &[&str], row: Row) -> RowError {
    RowError::new(problems.join("; "), row).field(fields.join(", "))
}

/// A value for an error message, cut short when long.
fn shown(v: &Value) -> String {
    let t = v.to_text().unwrap_or_default();
    if t.chars().count() > 60 {
        format!("value {:?}…", t.chars().take(60).collect::<String>())
    } else {
        format!("value {t:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> MaskRule {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn options_that_do_not_apply_are_reported() {
        let r = rule(serde_json::json!({"field": "a", "method": "email", "keep_first": 2, "salt_env": "X"}));
        let p = rule_problems(&r, 3);
        let paths: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(paths, vec!["fields/3/keep_first", "fields/3/salt_env"]);
        let r = rule(serde_json::json!({"field": "a", "method": "encrypt"}));
        assert_eq!(rule_problems(&r, 0)[0].field, "fields/0/key_env");
    }

    #[test]
    fn presets_apply_their_counts() {
        let m = compile(&rule(serde_json::json!({"field": "a", "method": "mobile"})), Secrets::default());
        assert_eq!(m.apply("13812345678").unwrap(), "138****5678");
        let m = compile(&rule(serde_json::json!({"field": "a", "method": "bank_card", "keep_first": 6, "mask_char": "#"})), Secrets::default());
        assert_eq!(m.apply("6222 0212 3456 7890").unwrap(), "622202######7890");
    }
}
