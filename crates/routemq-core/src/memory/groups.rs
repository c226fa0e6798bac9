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

    /// The next ready job: the plain list's head when no group has ready jobs,
    /// else the head of the next lane in the rotation (which then moves to the
    /// rotation's end while it still has jobs).
    pub(super) fn next_ready(&mut self) -> Option<(JobId, i64)> {
        while let Some(lane) = self.rotation.pop_front() {
            match lane {
                None => {
                    let got = self.ready.pop_front();
                    if !self.rotation.is_empty() {
                        self.rotation.push_back(None);
                    }
                    if got.is_some() {
                        return got;
                    }
                }
                Some(group) => {
                    let fifo = self.groups.get_mut(&group);
                    let (got, more) = match fifo {
                        Some(f) => (f.pop_front(), !f.is_empty()),
                        None => (None, false),
                    };
                    if more {
                        self.rotation.push_back(Some(group));
                    } else {
                        self.groups.remove(&group);
                    }
                    if got.is_some() {
                        return got;
                    }
                }
            }
        }
        self.ready.pop_front()
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
