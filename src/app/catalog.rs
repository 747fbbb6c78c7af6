//! The node catalog as the designer sees it: the palette entries and each kind's config
//! schema (the property forms), straight from the one node registry.

use super::api::CatalogKind;
use crate::nodes::registry;

/// Every registered node kind, in registry (kind name) order.
pub fn catalog() -> Vec<CatalogKind> {
    registry()
        .catalog()
        .into_iter()
        .map(|entry| CatalogKind {
            kind: entry.meta.kind.to_string(),
            category: entry.meta.category,
            title: entry.meta.title.to_string(),
            description: entry.meta.description.to_string(),
            keywords: entry.meta.keywords.iter().map(|k| k.to_string()).collect(),
            icon: entry.meta.icon.to_string(),
            ports: entry.ports,
            config_schema: entry.config_schema,
        })
        .collect()
}
