//! Fetching new incidents exactly once, with bounded work per run.
//!
//! The incidents API lists newest first, has no `$orderby`, returns at most a page of incidents
//! a request (100 on the legacy API, 50 on Microsoft Graph) and pages with `$skip`, so a backlog cannot be walked oldest-first by paging: pages shift as
//! incidents arrive. Instead each run reads `createdTime` ranges small enough to fit one page,
//! oldest range first:
//!
//! - **Forward reads** cover `[start, start + window)`, or `[start, …)` once that reaches the
//!   newest incident seen. A full page means the range was too wide: the window shrinks (by the
//!   page's density, or by halves while the first incidents after a quiet stretch are sought)
//!   and the read is retried; the window is kept in the cursor, so a run that runs out of
//!   requests leaves the narrowing to the next. A page that is not full is the complete set of
//!   the range; its incidents are emitted oldest first and `start` moves past them (never past
//!   the newest `createdTime` seen, which the service's clock has certainly reached, so nothing
//!   can still be created below `start` — the platform's own clock plays no part).
//! - **Bursts**: when more than a page of incidents share `createdTime` = `start`, they are read
//!   with `$skip`, a page per request. Nothing new can be created at a past instant; a late one
//!   only pushes the others to later offsets, so paging reads some twice and misses none.
//! - **Look-back reads**: Defender makes some incidents visible up to `fetch_lookback` after
//!   their `createdTime`. A read at a time when the newest incident is N saw everything created
//!   before N − lookback; what the frontier passed above that is not yet *settled*. Each run
//!   first re-reads `[settled, start)` (a page at a time, across runs if larger) and emits what
//!   it had not seen; a complete re-read settles what was visible when it began. Near the
//!   present that range is about one look-back wide; far behind it (draining a backlog) it is
//!   empty, as everything read there was long visible.
//! - **Seen ids**: the ids emitted whose `createdTime` a read can still reach are kept in the
//!   cursor; every read drops them, so overlapping reads never repeat an incident.
//! - **The first run** on a large backlog searches where it begins by offset instead (see
//!   [`locate`]), so that it emits `max_fetch` incidents rather than none.
//!
//! A run makes at most ⌈max_fetch/100⌉ + 2 list requests, on either API (through Graph, whose
//! pages hold 50, a run deep in a backlog may emit fewer than max_fetch); a run from a cursor
//! that has not yet seen an incident (the first) makes at most 12. A run stops early when its
//! time is nearly up; the cursor it returns describes exactly the incidents it emitted.

pub mod cursor;
pub mod id_set;
mod locate;
pub mod platform;
pub mod reads;

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

use crate::api::{ApiError, IncidentId};
use crate::time::{self, TICK};
use cursor::{Burst, Cursor, LookbackPass};
use reads::{CreatedRange, FetchSource, Fetched};

/// A request gets at most this long, however much time the run has left.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// No request is started with less time than this left: it could not finish.
const MIN_REQUEST_TIME: Duration = Duration::from_secs(2);
/// Growing windows aim at pages this full (in hundredths of a page), leaving room for the range
/// to be denser than the last.
const TARGET_FILL_PERCENT: usize = 64;
/// The incidents a run's request budget counts per list request: the legacy API's page.
const BUDGET_PAGE: usize = 100;
/// The most list requests a first run makes (a cursor that has not yet seen an incident), to
/// find where a large backlog begins.
pub const FIRST_RUN_REQUESTS: usize = 12;
/// The widest forward window: a year.
pub const MAX_WINDOW: SignedDuration = SignedDuration::from_hours(366 * 24);

/// What bounds one run.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// The most incidents to emit.
    pub max_fetch: usize,
    /// How late after its `createdTime` an incident may become visible (`fetch_lookback`).
    pub lookback: SignedDuration,
    /// When to stop starting requests; none means no limit of our own.
    pub deadline: Option<Instant>,
}

impl FetchLimits {
    /// The most list requests a run makes: ⌈max_fetch/100⌉ + 2, whichever API serves it. Graph's
    /// pages hold 50, so through Graph a run deep in a backlog may emit fewer than `max_fetch`
    /// (the next run goes on), but it never spends more of the app's request quota.
    pub fn request_budget(&self) -> usize {
        self.max_fetch.div_ceil(BUDGET_PAGE).saturating_add(2)
    }

    /// The most list requests a run from `cursor` makes: [`FIRST_RUN_REQUESTS`] while the
    /// cursor has not seen an incident yet, else [`FetchLimits::request_budget`].
    pub fn request_budget_from(&self, cursor: &Cursor) -> usize {
        if cursor.newest.is_none() {
            self.request_budget().max(FIRST_RUN_REQUESTS)
        } else {
            self.request_budget()
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct FetchOutcome<I> {
    /// The items to create incidents of, in the order emitted.
    pub incidents: Vec<I>,
    /// The cursor that describes exactly what was emitted.
    pub cursor: Cursor,
    /// List requests made.
    pub requests: usize,
    /// The failure that ended the run early, if one did.
    pub failure: Option<ApiError>,
}

/// Runs one fetch from `cursor`.
pub async fn fetch<S: FetchSource>(
    source: &mut S,
    cursor: Cursor,
    limits: FetchLimits,
) -> FetchOutcome<S::Item> {
    let page_size = source.page_size().max(1);
    let budget = limits.request_budget_from(&cursor);
    let locating = cursor.newest.is_none();
    let mut run = Run {
        source,
        cursor,
        limits,
        page_size,
        budget,
        locating,
        incidents: Vec::new(),
        requests: 0,
    };
    let failure = run.steps().await.err();
    let mut cursor = run.cursor;
    cursor.seen.forget_before(forget_before(&cursor));
    FetchOutcome {
        incidents: run.incidents,
        cursor,
        requests: run.requests,
        failure,
    }
}

/// Ids created before this can no longer be returned by any read: forward reads start at
/// `start`, look-back reads at `settled` (or at the pass under way, which began there).
fn forget_before(cursor: &Cursor) -> Timestamp {
    let mut oldest_read = cursor.settled.min(cursor.start);
    if let Some(pass) = cursor.lookback {
        oldest_read = oldest_read.min(pass.from);
    }
    oldest_read
}

/// What one list request returned: its incidents with their `createdTime` and id, and whether
/// more follow them.
struct Read<I> {
    items: Vec<(Timestamp, IncidentId, I)>,
    more: bool,
}

/// What a forward step leaves for the run: read on, or stop (caught up with the newest
/// incidents, out of incidents to emit, or out of time).
enum Step {
    Continue,
    Stop,
}

struct Run<'r, S: FetchSource> {
    source: &'r mut S,
    cursor: Cursor,
    limits: FetchLimits,
    page_size: usize,
    /// The most list requests this run makes.
    budget: usize,
    /// Whether the first forward read may hand over to [`locate`] (a first run).
    locating: bool,
    incidents: Vec<S::Item>,
    requests: usize,
}

impl<S: FetchSource> Run<'_, S> {
    async fn steps(&mut self) -> Result<(), ApiError> {
        let lookback_due = self.lookback_due();
        if lookback_due {
            self.lookback_step().await?;
        }
        while self.has_room() {
            if let Step::Stop = self.forward_step().await? {
                break;
            }
        }
        // Requests the forward reads left over go to a look-back pass still under way.
        while lookback_due && self.has_room() && self.cursor.lookback.is_some() {
            self.lookback_step().await?;
        }
        Ok(())
    }

    fn has_room(&self) -> bool {
        self.incidents.len() < self.limits.max_fetch && self.requests < self.budget
    }

    /// Whether some of what the frontier passed is not settled yet.
    fn lookback_due(&self) -> bool {
        self.cursor.lookback.is_some() || self.cursor.settled < self.cursor.start
    }

    /// Incidents created before this were certainly visible at the last read: the service's
    /// clock had reached the newest `createdTime` read, and nothing becomes visible later than
    /// the look-back. None: not even the oldest can be relied on yet.
    fn visible_before(&self) -> Option<Timestamp> {
        if self.limits.lookback <= SignedDuration::ZERO {
            return Some(Timestamp::MAX);
        }
        Some(time::earlier(self.cursor.newest?, self.limits.lookback))
    }

    /// After the frontier moved from `from` to `to` with single complete reads: settles what
    /// was certainly visible, if nothing before `from` is still unsettled.
    fn settle_forward(&mut self, from: Timestamp, to: Timestamp) {
        if self.cursor.settled < from {
            return;
        }
        if let Some(visible_before) = self.visible_before() {
            self.cursor.settled = self.cursor.settled.max(to.min(visible_before));
        }
    }

    /// One read of `range` from `skip`, or none when no request fits in the time left.
    async fn read(
        &mut self,
        range: CreatedRange,
        skip: usize,
    ) -> Result<Option<Read<S::Item>>, ApiError> {
        let timeout = match self.limits.deadline {
            None => REQUEST_TIMEOUT,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                // However short `fetch_timeout` is, a run tries once: otherwise it would never
                // fetch anything.
                if left < MIN_REQUEST_TIME && self.requests > 0 {
                    tracing::info!("fetch stops early: its time is nearly up");
                    return Ok(None);
                }
                left.clamp(MIN_REQUEST_TIME, REQUEST_TIMEOUT)
            }
        };
        self.requests += 1;
        let (page, more) = reads::created_in(self.source, range, skip, timeout).await?;
        let mut items = Vec::with_capacity(page.len());
        for incident in page {
            let id = incident.id();
            let Some(created) = incident.created() else {
                return Err(ApiError::Malformed(
                    "an incident in the list has no createdTime".to_owned(),
                ));
            };
            // Strictly before the end of the range, so that the times the cursor derives from
            // it (a tick later at most) are still in it.
            if !time::in_range(created) || created == time::LATEST {
                return Err(ApiError::Malformed(format!(
                    "incident {id} has the createdTime {}, and fetching takes times {}",
                    time::format(created),
                    time::range_text()
                )));
            }
            items.push((created, id, incident));
        }
        if let Some(newest) = items.iter().map(|(created, ..)| *created).max() {
            self.cursor.newest = Some(self.cursor.newest.map_or(newest, |n| n.max(newest)));
        }
        tracing::debug!(
            from = %time::format(range.from),
            to = %range.to.map(time::format).unwrap_or_default(),
            skip,
            found = items.len(),
            more,
            "fetch read"
        );
        Ok(Some(Read { items, more }))
    }

    /// Emits the unseen incidents of `items` oldest first, as many as the run may. Returns
    /// whether all were emitted and the `createdTime` of the last one emitted.
    fn emit(
        &mut self,
        mut items: Vec<(Timestamp, IncidentId, S::Item)>,
    ) -> (bool, Option<Timestamp>) {
        items.sort_by(|(created_a, id_a, _), (created_b, id_b, _)| {
            (created_a, id_a).cmp(&(created_b, id_b))
        });
        let mut last = None;
        for (created, id, incident) in items {
            if self.cursor.seen.contains(&id, created) {
                continue;
            }
            if self.incidents.len() >= self.limits.max_fetch {
                return (false, last);
            }
            self.cursor.seen.insert(id, created);
            self.incidents.push(incident);
            last = Some(created);
        }
        (true, last)
    }

    async fn forward_step(&mut self) -> Result<Step, ApiError> {
        let locating = std::mem::take(&mut self.locating);
        if let Some(burst) = self.cursor.burst {
            return self.burst_step(burst).await;
        }
        let start = self.cursor.start;
        let to = match (self.cursor.window, self.cursor.newest) {
            (Some(window), Some(newest)) if time::later(start, window) <= newest => {
                Some(time::later(start, window))
            }
            _ => None,
        };
        let Some(Read { items, more }) = self.read(CreatedRange { from: start, to }, 0).await?
        else {
            return Ok(Step::Stop);
        };
        if more {
            self.narrow(&items, to);
            if locating && to.is_none() && self.cursor.burst.is_none() {
                self.locate(&items).await?;
            }
            return Ok(Step::Continue);
        }
        let found = items.len();
        let newest_read = items.iter().map(|(created, ..)| *created).max();
        let (all, last) = self.emit(items);
        let (next, step) = match (all, to) {
            (false, _) => (last.unwrap_or(start), Step::Stop),
            (true, Some(to)) => {
                self.cursor.window = self.cursor.window.map(|window| {
                    match self.cursor.ahead.filter(|ahead| found == 0 && *ahead > to) {
                        // Nothing here, but a full page is known further on: halve the way.
                        Some(ahead) => whole_ticks(ahead.duration_since(to) / 2),
                        None => grow(window, found, self.page_size),
                    }
                });
                (to, Step::Continue)
            }
            (true, None) => (newest_read.unwrap_or(start), Step::Stop),
        };
        self.cursor.start = start.max(next);
        if found > 0
            || self
                .cursor
                .ahead
                .is_some_and(|ahead| ahead < self.cursor.start)
        {
            self.cursor.ahead = None;
        }
        self.settle_forward(start, self.cursor.start);
        Ok(step)
    }

    /// After a full page of `[start, to)`: a narrower window, at most half the last one so that
    /// narrowing ends at one tick; or a burst read when the page reaches down to `start`.
    ///
    /// The first time, the window is judged by how densely the page's incidents lie: half the
    /// page's span holds about half a page if incidents are spread evenly, which is the common
    /// case of a backlog. When that guess proves wrong — an empty read, then another full page
    /// before any incident was found — incidents are not spread evenly (a quiet stretch after
    /// `start`), and the window is halved instead, which finds where they begin in a few reads.
    fn narrow(&mut self, items: &[(Timestamp, IncidentId, S::Item)], to: Option<Timestamp>) {
        let start = self.cursor.start;
        let oldest = items.iter().map(|(created, ..)| *created).min();
        let newest = items.iter().map(|(created, ..)| *created).max();
        let (Some(oldest), Some(newest)) = (oldest, newest) else {
            return;
        };
        if oldest <= start {
            // Every incident after `start` is in this page, but there may be more at `start`
            // than it shows: read those a page at a time.
            let settles = self.cursor.settled == start
                && self
                    .visible_before()
                    .is_some_and(|visible_before| start < visible_before);
            self.cursor.burst = Some(Burst {
                at: start,
                skip: 0,
                settles,
            });
            return;
        }
        let end = to.unwrap_or(time::later(newest, TICK));
        let last = end.duration_since(start);
        let searching = self.cursor.ahead.replace(end).is_some();
        let window = if oldest == newest {
            // A burst later on: first everything before it.
            oldest.duration_since(start)
        } else if searching {
            last / 2
        } else {
            let density_guess = newest.duration_since(oldest) / 2;
            density_guess
                .min(last / 2)
                .min(oldest.duration_since(start) + TICK)
        };
        self.cursor.window = Some(whole_ticks(window));
    }

    async fn burst_step(&mut self, burst: Burst) -> Result<Step, ApiError> {
        let range = CreatedRange {
            from: burst.at,
            to: Some(time::later(burst.at, TICK)),
        };
        let Some(Read { items, more }) = self.read(range, burst.skip).await? else {
            return Ok(Step::Stop);
        };
        let found = items.len();
        let (all, _) = self.emit(items);
        if !all {
            return Ok(Step::Stop);
        }
        if !more {
            self.cursor.start = self.cursor.start.max(time::later(burst.at, TICK));
            if burst.settles && self.cursor.settled == burst.at {
                self.cursor.settled = self.cursor.start;
            }
            self.cursor.burst = None;
            // The density after a burst is unknown: the next read finds it out.
            self.cursor.window = None;
            self.cursor.ahead = None;
        } else {
            self.cursor.burst = Some(Burst {
                skip: burst.skip.saturating_add(found),
                ..burst
            });
        }
        Ok(Step::Continue)
    }

    async fn lookback_step(&mut self) -> Result<(), ApiError> {
        let pass = match self.cursor.lookback {
            Some(pass) => pass,
            None => {
                let (from, to) = (self.cursor.settled, self.cursor.start);
                if from >= to {
                    return Ok(());
                }
                LookbackPass {
                    from,
                    to,
                    skip: 0,
                    settles: self
                        .visible_before()
                        .map_or(from, |visible_before| visible_before.clamp(from, to)),
                }
            }
        };
        let range = CreatedRange {
            from: pass.from,
            to: Some(pass.to),
        };
        let Some(Read { items, more }) = self.read(range, pass.skip).await? else {
            return Ok(());
        };
        let found = items.len();
        let (all, _) = self.emit(items);
        self.cursor.lookback = if !all {
            Some(pass)
        } else if more {
            Some(LookbackPass {
                skip: pass.skip.saturating_add(found),
                ..pass
            })
        } else {
            self.cursor.settled = self.cursor.settled.max(pass.settles);
            None
        };
        Ok(())
    }
}

/// The next window after a complete read that found `found` incidents: wide enough for about
/// [`TARGET_FILL_PERCENT`] of a page at the same density, at most twice as wide (eight times
/// when it was empty).
fn grow(window: SignedDuration, found: usize, page_size: usize) -> SignedDuration {
    let target = (page_size * TARGET_FILL_PERCENT / 100).max(1);
    let factor = if found == 0 {
        8.0
    } else {
        (target as f64 / found as f64).clamp(1.0, 2.0)
    };
    let nanos = (window.as_nanos() as f64 * factor).min(MAX_WINDOW.as_nanos() as f64);
    whole_ticks(SignedDuration::from_nanos(nanos as i64))
}

/// `window` cut down to whole ticks, from one tick to [`MAX_WINDOW`]: windows move `start`,
/// which stays on ticks.
fn whole_ticks(window: SignedDuration) -> SignedDuration {
    let nanos = window.clamp(TICK, MAX_WINDOW).as_nanos();
    SignedDuration::from_nanos((nanos - nanos % 100) as i64)
}

#[cfg(test)]
mod tests;
