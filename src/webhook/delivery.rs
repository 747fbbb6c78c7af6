//! How a micro-batch's events reach the flow: the planned flow's `webhook_source` nodes
//! are swapped for a twin kind that emits queued events instead of samples.
//!
//! The twin has the same config, checks and fields as `webhook_source` (so the plan is the
//! one `sluice run` would make); only `build` differs: it takes the node's events from a
//! slot the listener fills before each run. The twin is not in the registry; it exists once
//! per listener (a `&'static` kind, as the plan holds them, leaked once at start).

use super::event::WebhookEvent;
use crate::nodes::sources::webhook::{events_task, EventOrigin, WebhookSource, WebhookSourceConfig};
use crate::nodes::{erase, ConfigProblem, DynNodeKind, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, Ports};
use crate::plan::Plan;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Events waiting to be emitted, by node id.
pub type EventSlot = Arc<Mutex<HashMap<String, Vec<WebhookEvent>>>>;

struct QueuedEvents {
    slot: EventSlot,
}

impl NodeKind for QueuedEvents {
    type Config = WebhookSourceConfig;

    fn meta(&self) -> NodeMeta {
        WebhookSource.meta()
    }
    fn static_ports(&self) -> Ports {
        WebhookSource.static_ports()
    }
    fn check(&self, config: &Self::Config, ctx: &NodeContext, inputs: &PortSchemas) -> Vec<ConfigProblem> {
        WebhookSource.check(config, ctx, inputs)
    }
    fn output_schemas(&self, config: &Self::Config, ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        WebhookSource.output_schemas(config, ctx, inputs)
    }
    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        let events = self.slot.lock().unwrap().remove(&ctx.node_id).unwrap_or_default();
        events_task(&config, events, EventOrigin::Queue)
    }
}

/// One listener's way of handing events to runs.
pub struct Delivery {
    kind: &'static dyn DynNodeKind,
    slot: EventSlot,
}

impl Delivery {
    pub fn new() -> Self {
        let slot = EventSlot::default();
        Delivery { kind: erase(QueuedEvents { slot: slot.clone() }), slot }
    }

    /// Makes the plan's webhook nodes emit `events` (grouped by their node).
    pub fn load(&self, plan: &mut Plan, events: &[WebhookEvent]) {
        let mut by_node: HashMap<String, Vec<WebhookEvent>> = HashMap::new();
        for e in events {
            by_node.entry(e.node_id.clone()).or_default().push(e.clone());
        }
        for node in plan.nodes.iter_mut().filter(|n| n.kind_name == "webhook_source") {
            node.kind = self.kind;
            by_node.entry(node.id.clone()).or_default();
        }
        *self.slot.lock().unwrap() = by_node;
    }

    /// Forgets events a run did not build (it failed before building every node).
    pub fn clear(&self) {
        self.slot.lock().unwrap().clear();
    }
}
