//! Ordering the end of a run: watermarks are stored only after every SQL sink of the same
//! run has committed its whole-run transaction.
//!
//! The executor runs the nodes' success actions one after the other, sources (upstream)
//! first. A source that stored its watermark in its own action would advance it even when
//! a sink's commit, run after it, then fails, and the rows of that run would never be read
//! again. So a sink with a transaction still to commit registers here when its input ends;
//! a source's watermark write is deferred while any such commit is pending in its run, and
//! the last sink to commit performs it. A failed commit drops the deferred writes.
//!
//! Left out: other kinds of sinks' success actions (a file sink's final rename) also run
//! after the source's; those failing after the watermark was stored is not covered.

use crate::exec::NodeIo;
use std::any::Any;
use std::sync::{Arc, Mutex, Weak};

type Deferred = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// Identifies one run (the executor's shared run state, held weakly).
#[derive(Clone)]
pub struct RunToken(Arc<dyn Any + Send + Sync>);

impl RunToken {
    pub fn of(io: &NodeIo) -> RunToken {
        let shared: Arc<dyn Any + Send + Sync> = io.shared.clone();
        RunToken(shared)
    }
}

struct Entry {
    run: Weak<dyn Any + Send + Sync>,
    pending_commits: usize,
    deferred: Vec<Deferred>,
}

static LEDGER: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn with_entry<R>(token: &RunToken, f: impl FnOnce(&mut Vec<Entry>, Option<usize>) -> R) -> R {
    let mut ledger = LEDGER.lock().unwrap_or_else(|p| p.into_inner());
    // Entries of runs that are gone are dropped here.
    ledger.retain(|e| e.run.strong_count() > 0);
    let i = ledger.iter().position(|e| std::ptr::addr_eq(e.run.as_ptr(), Arc::as_ptr(&token.0)));
    f(&mut ledger, i)
}

/// A sink will commit in its success action.
pub fn expect_commit(token: &RunToken) {
    with_entry(token, |ledger, i| match i {
        Some(i) => ledger[i].pending_commits += 1,
        None => ledger.push(Entry { run: Arc::downgrade(&token.0), pending_commits: 1, deferred: Vec::new() }),
    })
}

/// A sink's commit finished. After the last pending commit, deferred actions run (first
/// error wins); after a failed commit they are dropped.
pub fn commit_finished(token: &RunToken, ok: bool) -> Result<(), String> {
    let ready = with_entry(token, |ledger, i| {
        let i = i?;
        if !ok {
            ledger.remove(i);
            return None;
        }
        ledger[i].pending_commits = ledger[i].pending_commits.saturating_sub(1);
        (ledger[i].pending_commits == 0).then(|| ledger.remove(i).deferred)
    });
    let mut result = Ok(());
    for action in ready.unwrap_or_default() {
        if let Err(e) = action() {
            if result.is_ok() {
                result = Err(e);
            }
        }
    }
    result
}

/// Runs `action` now, or after the run's pending commits when there are any.
pub fn after_commits(token: &RunToken, action: impl FnOnce() -> Result<(), String> + Send + 'static) -> Result<(), String> {
    let action: Deferred = Box::new(action);
    let now = with_entry(token, |ledger, i| match i {
        Some(i) if ledger[i].pending_commits > 0 => {
            ledger[i].deferred.push(action);
            None
        }
        _ => Some(action),
    });
    match now {
        Some(a) => a(),
        None => Ok(()),
    }
}

/// Forgets the run (it failed or stopped).
pub fn discard(token: &RunToken) {
    with_entry(token, |ledger, i| {
        if let Some(i) = i {
            ledger.remove(i);
        }
    })
}

/// Stores an incremental source's new watermark once the whole run succeeded, after every
/// SQL commit of the run (see the module docs). A preview ends "successfully" by stopping
/// the run: its rows went nowhere, so then the watermark does not move.
pub fn store_watermark_on_success(io: &mut NodeIo, store: crate::state::StateStore, key: String, watermark: crate::state::Watermark) {
    let token = RunToken::of(io);
    let handle = tokio::runtime::Handle::current();
    let node_id = io.node_id().to_string();
    let t2 = token.clone();
    let stopped = io.shared.cancel.clone();
    io.on_success(move || {
        if stopped.is_cancelled() {
            discard(&token);
            return Ok(());
        }
        after_commits(&token, move || {
            handle.block_on(async move {
                let r = store.set_watermark(&key, &node_id, &watermark).await.map_err(|e| e.to_string());
                store.close().await;
                r
            })
        })
    });
    io.on_failure(move || discard(&t2));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_actions_wait_for_the_last_commit_and_die_with_a_failed_one() {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let t = RunToken(Arc::new(1u8));
        expect_commit(&t);
        expect_commit(&t);
        let r = ran.clone();
        after_commits(&t, move || {
            r.lock().unwrap().push("wm");
            Ok(())
        })
        .unwrap();
        assert!(ran.lock().unwrap().is_empty());
        commit_finished(&t, true).unwrap();
        assert!(ran.lock().unwrap().is_empty());
        commit_finished(&t, true).unwrap();
        assert_eq!(*ran.lock().unwrap(), vec!["wm"]);

        let t2 = RunToken(Arc::new(2u8));
        expect_commit(&t2);
        let r = ran.clone();
        after_commits(&t2, move || {
            r.lock().unwrap().push("never");
            Ok(())
        })
        .unwrap();
        commit_finished(&t2, false).unwrap();
        assert_eq!(ran.lock().unwrap().len(), 1);

        // No pending commit: runs at once.
        let t3 = RunToken(Arc::new(3u8));
        let r = ran.clone();
        after_commits(&t3, move || {
            r.lock().unwrap().push("now");
            Ok(())
        })
        .unwrap();
        assert_eq!(ran.lock().unwrap().len(), 2);
    }
}
