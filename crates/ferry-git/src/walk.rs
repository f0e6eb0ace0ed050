//! The history walk: which commits, in which order, read once each.
//!
//! Two phases. **Collect** reads every commit it reaches exactly once, in
//! commit-time order like `git log`, keeping what a changelog needs of the
//! commits to show and only the graph of the hidden ones; it stops as soon as
//! nothing but hidden commits is left to visit (git's `A..B` rule, with its
//! slop for skewed clocks). **Emit** is Kahn's topological sort over the
//! collected commits, newest ready commit first, so a commit always comes
//! before its parents even when commit times say otherwise.
//!
//! Collecting first costs memory for the messages of the walked range (about
//! what `git log` holds while sorting with `--topo-order`), and buys the
//! guaranteed order without decoding any commit twice: decoding (zlib) is
//! most of the cost of a walk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use gix::ObjectId;
use gix::bstr::ByteSlice;

use crate::paths::PathFilter;
use crate::{GitCommit, GitError, Repository};

/// Commits popped after only hidden ones are left, for clocks that lie
/// (git's `SLOP`).
const SLOP: u32 = 5;

/// Bytes of decoded trees kept while comparing trees for a path filter: a
/// commit's trees are read again as its child's parent trees. Small on
/// purpose: on 100,000 commits 1–4 MiB beat 32 MiB, whose bookkeeping costs
/// more than it saves.
const TREE_CACHE_BYTES: usize = 4 * 1024 * 1024;

/// Bytes of pack delta bases kept while reading trees, which packs store
/// mostly as deltas (measured best between 2 and 16 MiB).
const DELTA_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Commits from a [`Repository::walk`], newest first, children before their
/// parents. The first call to `next` does the walking; after an error the
/// iterator ends.
pub struct Walk<'repo> {
    repo: &'repo Repository,
    state: State,
    first_parent: bool,
    paths: Option<PathFilter>,
    /// A handle with object and delta caches, only for a path filter.
    trees: Option<gix::OdbHandle>,
}

impl std::fmt::Debug for Walk<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("repo", &self.repo)
            .field("first_parent", &self.first_parent)
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

enum State {
    Start { tip: ObjectId, hide: Vec<ObjectId> },
    Emit(Emitter),
    Done,
}

/// What the walk needs of a commit it shows.
struct Shown {
    message: String,
    author_name: String,
    author_email: String,
    author_time: i64,
    parents: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Known as a parent, not read (a non-first parent on a first-parent walk).
    Unread,
    /// Read and waiting in the queue.
    Queued,
    /// Its parents have been followed.
    Popped,
}

struct Node {
    id: ObjectId,
    /// Committer time: the order of the walk.
    time: i64,
    tree: ObjectId,
    /// Parents in `Graph::edges[first_edge..first_edge + parent_count]`
    /// (none for a commit at a shallow clone's boundary).
    first_edge: u32,
    parent_count: u32,
    seen: Seen,
    hidden: bool,
    /// `Some` while the commit is to be shown.
    shown: Option<Shown>,
}

struct Graph {
    nodes: Vec<Node>,
    edges: Vec<u32>,
}

impl Graph {
    fn parents(&self, node: u32) -> &[u32] {
        let node = &self.nodes[node as usize];
        let start = node.first_edge as usize;
        &self.edges[start..start + node.parent_count as usize]
    }
}

/// Phase one: reads commits in time order until only hidden ones are left.
struct Collector<'a> {
    repo: &'a Repository,
    first_parent: bool,
    graph: Graph,
    index: gix::hashtable::HashMap<ObjectId, u32>,
    queue: BinaryHeap<(i64, Reverse<u32>)>,
    /// Queued commits that are not hidden: while there are any, go on.
    visible_queued: usize,
    shallow: gix::hashtable::HashSet<ObjectId>,
    buf: Vec<u8>,
}

impl Collector<'_> {
    fn node(&mut self, id: ObjectId) -> u32 {
        let nodes = &mut self.graph.nodes;
        *self.index.entry(id).or_insert_with(|| {
            nodes.push(Node {
                id,
                time: 0,
                tree: ObjectId::null(id.kind()),
                first_edge: 0,
                parent_count: 0,
                seen: Seen::Unread,
                hidden: false,
                shown: None,
            });
            u32::try_from(nodes.len() - 1).expect("fewer than 2^32 commits")
        })
    }

    /// Reads an unread commit, records its parents and queues it.
    fn read(&mut self, node: u32, hidden: bool) -> Result<(), GitError> {
        let id = self.graph.nodes[node as usize].id;
        // Taken for the duration, as the decoded commit borrows it while
        // parents are added to the graph.
        let mut buf = std::mem::take(&mut self.buf);
        let data = self.repo.read(&id, &mut buf)?;
        if data.kind != gix::objs::Kind::Commit {
            return Err(self.repo.wrong_kind(&id, "commit", data.kind));
        }
        let commit = gix::objs::CommitRef::from_bytes(data.data, id.kind())
            .map_err(|source| self.repo.read_error(&id, source))?;
        let committer = commit
            .committer()
            .map_err(|source| self.repo.read_error(&id, source))?;
        let shown = if hidden {
            None
        } else {
            let author = commit
                .author()
                .map_err(|source| self.repo.read_error(&id, source))?
                .trim();
            Some(Shown {
                // Lossy, whatever the `encoding` header says: a changelog
                // must not fail on one badly encoded message.
                message: commit.message.to_str_lossy().into_owned(),
                author_name: author.name.to_str_lossy().into_owned(),
                author_email: author.email.to_str_lossy().into_owned(),
                author_time: author.seconds(),
                parents: commit.parents.len(),
            })
        };
        let time = committer.seconds();
        let tree = commit.tree();
        let first_edge = u32::try_from(self.graph.edges.len()).expect("fewer than 2^32 edges");
        let mut parent_count = 0;
        if !self.shallow.contains(&id) {
            for parent in commit.parents() {
                let parent = self.node(parent);
                self.graph.edges.push(parent);
                parent_count += 1;
            }
        }
        drop(commit);
        self.buf = buf;
        let n = &mut self.graph.nodes[node as usize];
        n.time = time;
        n.tree = tree;
        n.first_edge = first_edge;
        n.parent_count = parent_count;
        n.seen = Seen::Queued;
        n.hidden = hidden;
        n.shown = shown;
        if !hidden {
            self.visible_queued += 1;
        }
        self.queue.push((time, Reverse(node)));
        Ok(())
    }

    /// Hides `node` and everything known below it; unread ancestors are
    /// queued as hidden so the painting goes on from them.
    fn hide(&mut self, node: u32) -> Result<(), GitError> {
        let mut stack = vec![node];
        while let Some(node) = stack.pop() {
            let n = &mut self.graph.nodes[node as usize];
            if n.hidden {
                continue;
            }
            match n.seen {
                Seen::Unread => self.read(node, true)?,
                Seen::Queued => {
                    n.hidden = true;
                    n.shown = None;
                    self.visible_queued -= 1;
                }
                Seen::Popped => {
                    n.hidden = true;
                    n.shown = None;
                    stack.extend_from_slice(self.graph.parents(node));
                }
            }
        }
        Ok(())
    }

    fn collect(mut self, tip: ObjectId, hide: &[ObjectId]) -> Result<Graph, GitError> {
        for &id in hide {
            let node = self.node(id);
            self.hide(node)?;
        }
        let tip = self.node(tip);
        if self.graph.nodes[tip as usize].seen == Seen::Unread {
            self.read(tip, false)?;
        }
        let mut slop = SLOP;
        let mut oldest_shown = i64::MAX;
        while let Some((_, Reverse(node))) = self.queue.pop() {
            let n = &mut self.graph.nodes[node as usize];
            n.seen = Seen::Popped;
            let parent_count = n.parent_count as usize;
            if n.hidden {
                for i in 0..parent_count {
                    let parent = self.graph.parents(node)[i];
                    self.hide(parent)?;
                }
            } else {
                self.visible_queued -= 1;
                oldest_shown = oldest_shown.min(n.time);
                let followed = if self.first_parent {
                    parent_count.min(1)
                } else {
                    parent_count
                };
                for i in 0..followed {
                    let parent = self.graph.parents(node)[i];
                    if self.graph.nodes[parent as usize].seen == Seen::Unread {
                        self.read(parent, false)?;
                    }
                }
            }
            // git's `still_interesting`: go on while visible commits wait, or
            // hidden ones newer than the oldest shown (its hiding may not
            // have reached everything yet); then a few more for skew.
            let newest_queued = self.queue.peek().map(|&(time, _)| time);
            if self.visible_queued > 0 || newest_queued.is_some_and(|time| time >= oldest_shown) {
                slop = SLOP;
            } else {
                slop -= 1;
                if slop == 0 {
                    break;
                }
            }
        }
        Ok(self.graph)
    }
}

/// Phase two: hands out collected commits in topological order.
struct Emitter {
    graph: Graph,
    /// Children not yet emitted, per node.
    pending_children: Vec<u32>,
    ready: BinaryHeap<(i64, Reverse<u32>)>,
}

impl Emitter {
    fn new(graph: Graph, first_parent: bool) -> Self {
        let mut pending_children = vec![0u32; graph.nodes.len()];
        let shown = |node: u32| graph.nodes[node as usize].shown.is_some();
        for node in 0..graph.nodes.len() as u32 {
            if shown(node) {
                for &parent in walked(&graph, node, first_parent) {
                    if shown(parent) {
                        pending_children[parent as usize] += 1;
                    }
                }
            }
        }
        let ready = (0..graph.nodes.len() as u32)
            .filter(|&node| shown(node) && pending_children[node as usize] == 0)
            .map(|node| (graph.nodes[node as usize].time, Reverse(node)))
            .collect();
        Self {
            graph,
            pending_children,
            ready,
        }
    }

    /// The next commit in order, with what it is compared to for paths.
    fn next(&mut self, first_parent: bool) -> Option<u32> {
        let (_, Reverse(node)) = self.ready.pop()?;
        for i in 0..walked(&self.graph, node, first_parent).len() {
            let parent = walked(&self.graph, node, first_parent)[i];
            let p = &self.graph.nodes[parent as usize];
            if p.shown.is_some() {
                let pending = &mut self.pending_children[parent as usize];
                *pending -= 1;
                if *pending == 0 {
                    self.ready.push((p.time, Reverse(parent)));
                }
            }
        }
        Some(node)
    }
}

/// The parents a walk follows from `node`.
fn walked(graph: &Graph, node: u32, first_parent: bool) -> &[u32] {
    let parents = graph.parents(node);
    if first_parent {
        &parents[..parents.len().min(1)]
    } else {
        parents
    }
}

impl<'repo> Walk<'repo> {
    pub(crate) fn new(
        repo: &'repo Repository,
        tip: ObjectId,
        hide: Vec<ObjectId>,
        first_parent: bool,
        paths: Option<PathFilter>,
    ) -> Self {
        Self {
            repo,
            state: State::Start { tip, hide },
            first_parent,
            paths,
            trees: None,
        }
    }

    fn collect_graph(&self, tip: ObjectId, hide: &[ObjectId]) -> Result<Graph, GitError> {
        let shallow = self
            .repo
            .inner
            .shallow_commits()
            .map_err(|source| GitError::Open {
                path: self.repo.location.clone(),
                source,
            })?
            .map(|commits| commits.iter().copied().collect())
            .unwrap_or_default();
        Collector {
            repo: self.repo,
            first_parent: self.first_parent,
            graph: Graph {
                nodes: Vec::new(),
                edges: Vec::new(),
            },
            index: Default::default(),
            queue: BinaryHeap::new(),
            visible_queued: 0,
            shallow,
            buf: Vec::new(),
        }
        .collect(tip, hide)
    }

    /// Whether `node` changes a path the filter asks for.
    fn touches_paths(&mut self, graph: &Graph, node: u32) -> Result<bool, GitError> {
        let Some(paths) = &self.paths else {
            return Ok(true);
        };
        let trees = self.trees.get_or_insert_with(|| {
            let mut objects = self.repo.inner.objects.clone();
            objects.set_object_cache(|| {
                Box::new(gix::odb::pack::cache::object::MemoryCappedHashmap::new(
                    TREE_CACHE_BYTES,
                ))
            });
            objects.set_pack_cache(|| {
                Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                    DELTA_CACHE_BYTES,
                ))
            });
            objects
        });
        let new = graph.nodes[node as usize].tree;
        let old = graph
            .parents(node)
            .first()
            .map(|&parent| graph.nodes[parent as usize].tree);
        paths.touches(self.repo, trees, old, Some(new))
    }

    fn emit(&mut self, mut emitter: Emitter) -> Option<Result<GitCommit, GitError>> {
        loop {
            let Some(node) = emitter.next(self.first_parent) else {
                self.state = State::Done;
                return None;
            };
            match self.touches_paths(&emitter.graph, node) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(error) => {
                    self.state = State::Done;
                    return Some(Err(error));
                }
            }
            let n = &mut emitter.graph.nodes[node as usize];
            let shown = n.shown.take().expect("only shown commits become ready");
            let commit = GitCommit {
                id: n.id.to_string(),
                message: shown.message,
                author_name: shown.author_name,
                author_email: shown.author_email,
                time: shown.author_time,
                parents: shown.parents,
            };
            self.state = State::Emit(emitter);
            return Some(Ok(commit));
        }
    }
}

impl Iterator for Walk<'_> {
    type Item = Result<GitCommit, GitError>;

    fn next(&mut self) -> Option<Self::Item> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => None,
            State::Emit(emitter) => self.emit(emitter),
            State::Start { tip, hide } => match self.collect_graph(tip, &hide) {
                Ok(graph) => {
                    let emitter = Emitter::new(graph, self.first_parent);
                    self.emit(emitter)
                }
                Err(error) => Some(Err(error)),
            },
        }
    }
}
