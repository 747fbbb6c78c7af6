//! The one explicit list of node kinds, and the type-erased view of a kind that the planner,
//! the CLI catalog, the docs generator and the designer share.

use super::{sinks, sources, transforms, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, Ports};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A node kind with its config taken as JSON.
pub trait DynNodeKind: Send + Sync {
    fn meta(&self) -> NodeMeta;
    fn static_ports(&self) -> Ports;
    /// JSON Schema of the config (draft 2020-12), generated from the config struct.
    fn config_schema(&self) -> serde_json::Value;
    fn parse_config(&self, config: &serde_json::Value) -> Result<(), ConfigProblem>;
    fn ports(&self, config: &serde_json::Value) -> Result<Ports, ConfigProblem>;
    fn check(&self, config: &serde_json::Value, ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem>;
    fn output_schemas(&self, config: &serde_json::Value, ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem>;
    fn build(&self, config: &serde_json::Value, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem>;
}

struct Erased<K>(K);

/// A kind as the planner sees it. For embedders and tests that run nodes of their own
/// through [`crate::plan::Plan`] without adding them to the catalog.
pub fn erase<K: NodeKind>(kind: K) -> &'static dyn DynNodeKind {
    Box::leak(Box::new(Erased(kind)))
}

impl<K: NodeKind> Erased<K> {
    fn typed(&self, config: &serde_json::Value) -> Result<K::Config, ConfigProblem> {
        serde_path_to_error::deserialize::<_, K::Config>(config.clone())
            .map_err(|e| ConfigProblem::new(e.path().to_string().replace('.', "/").trim_start_matches('/'), e.inner().to_string()))
    }
}

impl<K: NodeKind> DynNodeKind for Erased<K> {
    fn meta(&self) -> NodeMeta {
        self.0.meta()
    }
    fn static_ports(&self) -> Ports {
        self.0.static_ports()
    }
    fn config_schema(&self) -> serde_json::Value {
        let mut schema = serde_json::to_value(schemars::schema_for!(K::Config)).expect("schema serialises");
        if let Some(obj) = schema.as_object_mut() {
            obj.insert("title".into(), self.0.meta().title.into());
        }
        schema
    }
    fn parse_config(&self, config: &serde_json::Value) -> Result<(), ConfigProblem> {
        self.typed(config).map(|_| ())
    }
    fn ports(&self, config: &serde_json::Value) -> Result<Ports, ConfigProblem> {
        Ok(self.0.ports(&self.typed(config)?))
    }
    fn check(&self, config: &serde_json::Value, ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        match self.typed(config) {
            Ok(c) => self.0.check(&c, ctx, inputs),
            Err(p) => vec![p],
        }
    }
    fn output_schemas(&self, config: &serde_json::Value, ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        self.0.output_schemas(&self.typed(config)?, ctx, inputs)
    }
    fn build(&self, config: &serde_json::Value, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        self.0.build(self.typed(config)?, ctx)
    }
}

/// All node kinds, by kind name.
pub struct Registry {
    kinds: BTreeMap<&'static str, Box<dyn DynNodeKind>>,
}

impl Registry {
    fn new() -> Self {
        let mut r = Registry { kinds: BTreeMap::new() };
        // The catalog. Adding a node: its file, one line here, a sample flow in flows-examples/.
        // Sources
        r.add(sources::csv::CsvSource);
        r.add(sources::json::JsonSource);
        #[cfg(feature = "excel")]
        r.add(sources::excel::ExcelSource);
        r.add(sources::inline::InlineRows);
        #[cfg(feature = "sql")]
        r.add(sources::sql::SqlSource);
        #[cfg(feature = "http")]
        r.add(sources::http::HttpSource);
        #[cfg(feature = "http")]
        r.add(sources::webhook::WebhookSource);
        // Transforms
        r.add(transforms::filter::Filter);
        r.add(transforms::map_fields::MapFields);
        r.add(transforms::convert::Convert);
        r.add(transforms::compute::Compute);
        r.add(transforms::route::Route);
        r.add(transforms::script::Script);
        r.add(transforms::cleanse::Cleanse);
        r.add(transforms::mask::Mask);
        r.add(transforms::validate::Validate);
        r.add(transforms::dedupe::Dedupe);
        r.add(transforms::sort::Sort);
        r.add(transforms::limit::Limit);
        r.add(transforms::sample::Sample);
        r.add(transforms::aggregate::Aggregate);
        r.add(transforms::join::Join);
        r.add(transforms::union::Union);
        r.add(transforms::json_flatten::JsonFlatten);
        r.add(transforms::json_explode::JsonExplode);
        r.add(transforms::json_parse::JsonParse);
        r.add(transforms::json_build::JsonBuild);
        #[cfg(feature = "sql")]
        r.add(transforms::lookup::Lookup);
        #[cfg(feature = "http")]
        r.add(transforms::http_call::HttpCall);
        // Sinks
        r.add(sinks::csv::CsvSink);
        r.add(sinks::json::JsonSink);
        #[cfg(feature = "excel")]
        r.add(sinks::excel::ExcelSink);
        r.add(sinks::log::LogSink);
        #[cfg(feature = "sql")]
        r.add(sinks::sql::SqlSink);
        #[cfg(feature = "http")]
        r.add(sinks::http::HttpSink);
        #[cfg(feature = "sql")]
        r.add(sinks::dead_letter::DeadLetterSink);
        r
    }

    fn add<K: NodeKind>(&mut self, kind: K) {
        let name = kind.meta().kind;
        let prev = self.kinds.insert(name, Box::new(Erased(kind)));
        assert!(prev.is_none(), "node kind {name} registered twice");
    }

    pub fn get(&self, kind: &str) -> Option<&dyn DynNodeKind> {
        self.kinds.get(kind).map(|b| b.as_ref())
    }

    pub fn kinds(&self) -> impl Iterator<Item = (&'static str, &dyn DynNodeKind)> {
        self.kinds.iter().map(|(k, v)| (*k, v.as_ref()))
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }

    /// The catalog as data (for `sluice nodes --json`, docs and the designer's palette).
    pub fn catalog(&self) -> Vec<NodeCatalogEntry> {
        self.kinds
            .values()
            .map(|k| {
                let meta = k.meta();
                let schema = k.config_schema();
                NodeCatalogEntry { meta, ports: k.static_ports(), config_schema: schema }
            })
            .collect()
    }
}

/// One entry of `sluice nodes --json`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeCatalogEntry {
    #[serde(flatten)]
    pub meta: NodeMeta,
    /// Ports every node of the kind has; some kinds add ports named in their config.
    pub ports: Ports,
    pub config_schema: serde_json::Value,
}

/// The process-wide registry.
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::new)
}
