//! A bounded worker pool for independent items (downloads, hashing, planning wheels): results in
//! item order, the first error in item order wins, and no new item starts once one has failed.
//! It knows nothing of what the items are.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The cores this process may use (2 when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Runs `f` over `items` on up to `workers` threads.
pub fn map<T: Sync, R: Send, E: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(usize, &T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<R, E>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    let work = || loop {
        if failed.load(Ordering::Relaxed) {
            break;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= items.len() {
            break;
        }
        let r = f(i, &items[i]);
        if r.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        results.lock().expect("lock")[i] = Some(r);
    };
    let workers = workers.clamp(1, items.len().max(1));
    if workers == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(work);
            }
        });
    }
    let mut out = Vec::with_capacity(items.len());
    for r in results.into_inner().expect("lock").into_iter().flatten() {
        out.push(r?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_and_reports_the_first_error_in_item_order() {
        let items: Vec<u32> = (0..50).collect();
        let out: Result<Vec<u32>, String> = super::map(&items, 4, |i, x| Ok(i as u32 + x));
        assert_eq!(out.unwrap(), (0..50).map(|x| 2 * x).collect::<Vec<_>>());
        let err = super::map(&items, 3, |_, x| {
            if *x == 7 || *x == 30 {
                Err(format!("bad {x}"))
            } else {
                Ok(*x)
            }
        });
        assert_eq!(err.unwrap_err(), "bad 7");
        let none: Result<Vec<u32>, String> = super::map(&[] as &[u32], 4, |_, x| Ok(*x));
        assert!(none.unwrap().is_empty());
    }
}
