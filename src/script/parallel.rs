//! Evaluating a batch's rows on several threads, in order.
//!
//! Rhai evaluation is the costly part of `compute`, `route` and `script` nodes, and rows are
//! independent when no state is shared, so a batch is cut into pieces that rayon's pool
//! evaluates side by side. Each piece gets worker state of its own (a Rhai `Scope` is not
//! shareable), and results come back in input order, so a parallel run writes exactly what
//! a one-thread run writes.
//!
//! Each thread also evaluates its own copy of a script's AST ([`ThreadAst`]): evaluating
//! clones the AST's string constants (reference-counted), and two cores bumping the same
//! counters for every row spend more time passing the cache line back and forth than
//! evaluating.
//!
//! Left out: scripts with state shared across rows (`init`/`state`), which run on the
//! node's own thread through the same function with `parallel = false`.

use rhai::AST;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A compiled script that each thread evaluates from a copy of its own, compiled on the
/// thread's first use. Clones share the copies.
#[derive(Clone)]
pub struct ThreadAst {
    inner: Arc<Source>,
}

struct Source {
    id: u64,
    compile: Box<dyn Fn() -> AST + Send + Sync>,
}

/// Per thread: program id → (whether the program is still alive, this thread's copy).
type Copies = HashMap<u64, (Weak<Source>, Arc<AST>)>;

thread_local! {
    static THREAD_ASTS: RefCell<Copies> = RefCell::new(HashMap::new());
}

/// Copies a thread may hold before it drops those of programs that are gone (a long-lived
/// process builds many flows, and the pool's threads outlive them all). Live programs are
/// never dropped, so a node with many expressions never recompiles.
const COPIES_BEFORE_CLEANUP: usize = 64;

impl ThreadAst {
    /// `compile` must give the same AST as `first` every time.
    pub fn new(first: AST, compile: impl Fn() -> AST + Send + Sync + 'static) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let inner = Arc::new(Source { id: NEXT.fetch_add(1, Ordering::Relaxed), compile: Box::new(compile) });
        THREAD_ASTS.with(|c| remember(&mut c.borrow_mut(), &inner, Arc::new(first)));
        ThreadAst { inner }
    }

    /// This thread's copy.
    pub fn get(&self) -> Arc<AST> {
        THREAD_ASTS.with(|c| {
            if let Some((_, ast)) = c.borrow().get(&self.inner.id) {
                return ast.clone();
            }
            let ast = Arc::new((self.inner.compile)());
            remember(&mut c.borrow_mut(), &self.inner, ast.clone());
            ast
        })
    }
}

fn remember(copies: &mut Copies, source: &Arc<Source>, ast: Arc<AST>) {
    if copies.len() >= COPIES_BEFORE_CLEANUP {
        copies.retain(|_, (alive, _)| alive.strong_count() > 0);
    }
    copies.insert(source.id, (Arc::downgrade(source), ast));
}

/// Fewest rows handed to one task: below this, splitting costs more than it saves.
const MIN_ROWS_PER_TASK: usize = 64;

/// Maps every item through `f`, keeping their order. With `parallel` (and a batch worth
/// splitting) the batch is cut into pieces that the calling thread and helpers on rayon's
/// pool take one at a time until none is left; helpers get worker state from `init`, the
/// calling thread uses `local`. Otherwise everything runs here with `local`.
///
/// The calling thread works rather than waits: a node's thread would otherwise sleep
/// while the pool works, and waking threads for every batch costs more than it buys when
/// cores are few.
pub fn map_in_order<T, R, S>(
    items: Vec<T>,
    parallel: bool,
    local: &mut S,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, T) -> R + Sync + Send,
) -> Vec<R>
where
    T: Send,
    R: Send,
{
    let threads = rayon::current_num_threads();
    if !parallel || threads < 2 || items.len() < 2 * MIN_ROWS_PER_TASK {
        return items.into_iter().map(|t| f(local, t)).collect();
    }
    // A few pieces per thread, so a thread that is slow (descheduled, or given costly
    // rows) does not hold the batch up: the others take the pieces it has not started.
    let per_piece = (items.len() / (threads * 4)).max(MIN_ROWS_PER_TASK);
    let mut pieces: Vec<Mutex<Option<Vec<T>>>> = Vec::new();
    let mut items = items.into_iter();
    loop {
        let piece: Vec<T> = items.by_ref().take(per_piece).collect();
        if piece.is_empty() {
            break;
        }
        pieces.push(Mutex::new(Some(piece)));
    }
    let results: Vec<Mutex<Vec<R>>> = pieces.iter().map(|_| Mutex::new(Vec::new())).collect();
    let next = AtomicUsize::new(0);
    let work = |state: &mut S| loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(piece) = pieces.get(i) else { break };
        let items = piece.lock().expect("no panic while held").take().expect("each piece is taken once");
        let out: Vec<R> = items.into_iter().map(|t| f(state, t)).collect();
        *results[i].lock().expect("no panic while held") = out;
    };
    let helpers = (threads - 1).min(pieces.len() - 1);
    rayon::in_place_scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|_| work(&mut init()));
        }
        work(local);
    });
    results.into_iter().flat_map(|r| r.into_inner().expect("no panic while held")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_with_state_per_piece() {
        let items: Vec<u32> = (0..10_000).collect();
        let mut local = 0u32;
        let out = map_in_order(items.clone(), true, &mut local, || 0u32, |seen, x| {
            *seen += 1;
            x * 2
        });
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        let mut seen = 0u32;
        let out = map_in_order(items, false, &mut seen, || 0u32, |s, x| {
            *s += 1;
            x
        });
        assert_eq!((out.len(), seen), (10_000, 10_000), "one thread uses the caller's state for every row");
    }

    #[test]
    fn each_thread_evaluates_its_own_copy() {
        let compile = || crate::script::engine().compile_expression("\"a\" + 1").unwrap();
        let ast = ThreadAst::new(compile(), compile);
        let here = ast.get();
        assert!(Arc::ptr_eq(&here, &ast.get()), "one copy per thread");
        let clone = ast.clone();
        let there = std::thread::spawn(move || clone.get()).join().unwrap();
        assert!(!Arc::ptr_eq(&here, &there));
        let v: String = crate::script::engine().eval_ast(&there).unwrap();
        assert_eq!(v, "a1");
    }

    #[test]
    fn many_live_programs_keep_their_copies_and_dead_ones_go() {
        let compile = || crate::script::engine().compile_expression("1").unwrap();
        let live: Vec<ThreadAst> = (0..3 * COPIES_BEFORE_CLEANUP).map(|_| ThreadAst::new(compile(), compile)).collect();
        let first = live[0].get();
        for a in &live {
            a.get();
        }
        assert!(Arc::ptr_eq(&first, &live[0].get()), "a live program is never recompiled");
        drop(live);
        for _ in 0..COPIES_BEFORE_CLEANUP {
            ThreadAst::new(compile(), compile);
        }
        assert!(THREAD_ASTS.with(|c| c.borrow().len()) <= 2 * COPIES_BEFORE_CLEANUP);
    }
}
