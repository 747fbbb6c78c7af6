//! `sample`: a random subset of the rows — each row with a given probability (`fraction`,
//! streaming, no memory), or exactly N rows chosen uniformly (`rows`, reservoir sampling:
//! holds N rows until the input ends, then sends them in input order).
//!
//! With a `seed` the same input gives the same sample on every run and every machine: the
//! generator is SplitMix64, written out here rather than taken from a crate, so a library
//! update can never change which rows a seeded flow picks. Left out: stratified sampling
//! (per group) — group with `aggregate` or split with `route` first.

use crate::exec::{BlockingNode, NodeError, NodeIo};
use crate::nodes::{Category, ConfigProblem, NodeContext, NodeKind, NodeMeta, NodeTask, PortSchemas, PortSpec, Ports};
use super::rows::RowSender;
use crate::value::{Batch, Row, SchemaRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Picks a random subset of rows: set exactly one of `fraction` and `rows`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleConfig {
    /// Keep each row with this probability (0 to 1), e.g. `0.1` for about 10 % of the
    /// rows. Streams: nothing is held in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub fraction: Option<f64>,
    /// Keep exactly this many rows (or all, if fewer arrive), each equally likely. The
    /// chosen rows are held in memory until the input ends and then sent in input order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub rows: Option<u64>,
    /// Makes the sample reproducible: the same seed and input give the same rows. Without
    /// it every run picks differently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

pub struct Sample;

impl NodeKind for Sample {
    type Config = SampleConfig;

    fn meta(&self) -> NodeMeta {
        NodeMeta {
            kind: "sample",
            category: Category::Transform,
            title: "Sample rows",
            description: "Keeps a random subset of the rows: a share of them, or exactly N; reproducible with a seed.",
            keywords: &["random", "subset", "reservoir", "bernoulli", "audit", "spot check"],
            icon: "dices",
        }
    }

    fn static_ports(&self) -> Ports {
        Ports { inputs: vec![PortSpec::input("in", "rows to sample")], outputs: vec![PortSpec::output("out", "the sampled rows")] }
    }

    fn check(&self, config: &Self::Config, _ctx: &NodeContext, _inputs: &PortSchemas) -> Vec<ConfigProblem> {
        match (config.fraction, config.rows) {
            (Some(_), Some(_)) => vec![ConfigProblem::new("rows", "set either fraction or rows, not both")
                .hint("fraction keeps a share of the rows; rows keeps an exact number")],
            (None, None) => vec![ConfigProblem::new("fraction", "say how much to keep: a fraction (e.g. 0.1) or a number of rows")],
            (Some(f), None) if !(0.0..=1.0).contains(&f) => {
                vec![ConfigProblem::new("fraction", format!("fraction {f} is not between 0 and 1")).hint("0.1 keeps about 10 % of the rows")]
            }
            _ => vec![],
        }
    }

    fn output_schemas(&self, _config: &Self::Config, _ctx: &NodeContext, inputs: &PortSchemas) -> Result<PortSchemas, ConfigProblem> {
        Ok(inputs.get("in").map(|s| PortSchemas::from([("out".into(), s.clone())])).unwrap_or_default())
    }

    fn build(&self, config: Self::Config, ctx: &NodeContext) -> Result<NodeTask, ConfigProblem> {
        if let Some(p) = self.check(&config, ctx, &PortSchemas::new()).into_iter().next() {
            return Err(p);
        }
        let rng = SplitMix64::new(config.seed.unwrap_or_else(rand::random));
        Ok(NodeTask::Blocking(Box::new(SampleTask { config, rng })))
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and good enough for picking rows.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias is below 2^-64 · n).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

struct SampleTask {
    config: SampleConfig,
    rng: SplitMix64,
}

impl BlockingNode for SampleTask {
    fn run(self: Box<Self>, io: &mut NodeIo) -> Result<(), NodeError> {
        let SampleTask { config, mut rng } = *self;
        match (config.fraction, config.rows) {
            (Some(fraction), _) => bernoulli(io, fraction, &mut rng),
            (None, Some(n)) => reservoir(io, n, &mut rng),
            (None, None) => Ok(()),
        }
    }
}

fn bernoulli(io: &mut NodeIo, fraction: f64, rng: &mut SplitMix64) -> Result<(), NodeError> {
    while let Some(batch) = io.recv("in")? {
        let schema = batch.schema;
        // One draw per row whatever the fraction, so a seed picks the same rows for the
        // same input regardless of batch sizes.
        let kept: Vec<Row> = batch.rows.into_iter().filter(|_| rng.next_f64() < fraction).collect();
        io.send("out", Batch::new(schema, kept))?;
    }
    Ok(())
}

/// Algorithm R: row i (0-based) replaces a random slot with probability n / (i + 1).
fn reservoir(io: &mut NodeIo, n: u64, rng: &mut SplitMix64) -> Result<(), NodeError> {
    // (position in the input, schema, row), so the sample can leave in input order.
    let mut kept: Vec<(u64, SchemaRef, Row)> = Vec::new();
    let mut seen: u64 = 0;
    while let Some(batch) = io.recv("in")? {
        for row in batch.rows {
            if (kept.len() as u64) < n {
                kept.push((seen, batch.schema.clone(), row));
            } else {
                let j = rng.below(seen + 1);
                if j < n {
                    kept[j as usize] = (seen, batch.schema.clone(), row);
                }
            }
            seen += 1;
        }
    }
    kept.sort_unstable_by_key(|(pos, _, _)| *pos);
    let mut out = RowSender::new(io, "out");
    for (_, schema, row) in kept {
        out.push(io, &schema, row)?;
    }
    out.flush(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_fixed_for_a_seed() {
        // Reference values of SplitMix64 with seed 1234567 (from the published C code).
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        let mut r = SplitMix64::new(7);
        for _ in 0..1000 {
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
            assert!(r.below(10) < 10);
        }
    }
}
