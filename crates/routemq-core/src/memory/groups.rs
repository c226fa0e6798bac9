//! Fair groups for [`MemoryDriver`](super::MemoryDriver): one FIFO per group
//! beside the queue's plain ready list, and a rotation of the lanes that have
//! ready jobs. The plain list is one more lane of the rotation while any group
//! has ready jobs; a queue without grouped ready jobs has an empty rotation and
//! is served straight from its plain list, as before.

use super::QueueState;
use crate::{GroupKey, JobId};

impl QueueState {
    /// Makes job `id` ready at `at` (ms): at the tail of its group's FIFO, or of
    /// the plain list when `group` is `None`. A group whose FIFO was empty joins
    /// the rotation at its end (behind the plain lane, which joins first when the
    /// rotation was empty).
    pub(super) fn enqueue(&mut self, id: JobId, at: i64, group: Option<&GroupKey>) {
        let Some(group) = group else {
            self.ready.push_back((id, at));
            return;
        };
        let lane = self.groups.entry(group.clone()).or_default();
        lane.push_back((id, at));
        if lane.len() == 1 {
            if self.rotation.is_empty() {
                self.rotation.push_back(None);
            }
            self.rotation.push_back(Some(group.clone()));
        }
    }

    /// The next ready job of a lane `open` accepts, with its lane: the plain
    /// list's head when no group has ready jobs, else the head of the first
    /// accepted lane in the rotation, which then moves to the rotation's end
    /// while it still has jobs (the lanes passed over keep their turn).
    pub(super) fn next_ready(
        &mut self,
        mut open: impl FnMut(Option<&GroupKey>) -> bool,
    ) -> Option<(JobId, Option<GroupKey>)> {
        if self.rotation.is_empty() {
            return if open(None) {
                self.ready.pop_front().map(|(id, _)| (id, None))
            } else {
                None
            };
        }
        let mut i = 0;
        while i < self.rotation.len() {
            let lane = self.rotation[i].clone();
            if !open(lane.as_ref()) {
                i += 1;
                continue;
            }
            let got = match &lane {
                None => self.ready.pop_front(),
                Some(g) => self.groups.get_mut(g).and_then(|f| f.pop_front()),
            };
            let more = match &lane {
                None => true,
                Some(g) => self.groups.get(g).is_some_and(|f| !f.is_empty()),
            };
            if let (Some(g), false) = (&lane, more) {
                self.groups.remove(g);
            }
            match got {
                // An empty ungrouped lane keeps its place.
                None if more => i += 1,
                None => {
                    self.rotation.remove(i);
                }
                Some((id, _)) => {
                    self.rotation.remove(i);
                    if more {
                        self.rotation.push_back(lane.clone());
                    }
                    if self.groups.is_empty() {
                        // No group has ready jobs: the plain list is served alone.
                        self.rotation.clear();
                    }
                    return Some((id, lane));
                }
            }
        }
        if self.groups.is_empty() {
            self.rotation.clear();
        }
        None
    }

    /// Takes job `id` out of the ready list or its group's lane (a cancel);
    /// false when it is in neither. An emptied lane leaves the rotation.
    pub(super) fn remove_ready(&mut self, id: &JobId, group: Option<&GroupKey>) -> bool {
        let Some(g) = group else {
            let before = self.ready.len();
            self.ready.retain(|(j, _)| j != id);
            return self.ready.len() != before;
        };
        let Some(lane) = self.groups.get_mut(g) else {
            return false;
        };
        let before = lane.len();
        lane.retain(|(j, _)| j != id);
        let removed = lane.len() != before;
        if lane.is_empty() {
            self.groups.remove(g);
            self.rotation.retain(|l| l.as_ref() != Some(g));
            if self.groups.is_empty() {
                self.rotation.clear();
            }
        }
        removed
    }

    /// The lanes with ready jobs: the rotation, or the plain list alone.
    pub(super) fn ready_lanes(&self) -> Vec<Option<GroupKey>> {
        if self.rotation.is_empty() {
            if self.ready.is_empty() {
                Vec::new()
            } else {
                vec![None]
            }
        } else {
            self.rotation
                .iter()
                .filter(|l| l.is_some() || !self.ready.is_empty())
                .cloned()
                .collect()
        }
    }

    /// Every ready job, plain and grouped.
    pub(super) fn ready_iter(&self) -> impl Iterator<Item = &(JobId, i64)> {
        self.ready.iter().chain(self.groups.values().flatten())
    }

    /// Takes a ready job out of whichever lane holds it (debounce).
    pub(super) fn unready(&mut self, id: &JobId) {
        self.ready.retain(|(j, _)| j != id);
        for fifo in self.groups.values_mut() {
            fifo.retain(|(j, _)| j != id);
        }
        // A lane left empty leaves the rotation, so it joins again only once.
        self.groups.retain(|_, fifo| !fifo.is_empty());
        let groups = &self.groups;
        self.rotation
            .retain(|lane| lane.as_ref().is_none_or(|g| groups.contains_key(g)));
        if self.rotation.len() == 1 {
            self.rotation.clear();
        }
    }

    /// Empties every lane; returns the ids they held.
    pub(super) fn drain_ready(&mut self) -> Vec<JobId> {
        self.rotation.clear();
        let mut ids: Vec<JobId> = self.ready.drain(..).map(|(id, _)| id).collect();
        for (_, fifo) in self.groups.drain() {
            ids.extend(fifo.into_iter().map(|(id, _)| id));
        }
        ids
    }
}
