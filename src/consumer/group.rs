//! The group driver: a background task per subscribed [`Consumer`](super::Consumer) that owns the membership state
//! machine ([`ClassicMembership`] or [`ConsumerGroupMembership`], by `group.protocol`), performs its
//! [`Action`]s over a connection to the group coordinator, feeds the responses back with the current time, and
//! reports assignment changes to the consumer as [`GroupEvent`]s.
//!
//! The consumer applies the events in the application's task (inside `recv`/`poll`), runs the
//! [`RebalanceListener`] there, and acknowledges a revocation with [`GroupCommand::RevocationComplete`] once the
//! commits queued before it (the auto-commit of the revoked partitions, those the listener made) are done.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafkar_protocol::messages::consumer_group_heartbeat::{
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse,
};
use kafkar_protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use kafkar_protocol::messages::join_group::{JoinGroupRequest, JoinGroupResponse};
use kafkar_protocol::messages::leave_group::LeaveGroupRequest;
use kafkar_protocol::messages::sync_group::{SyncGroupRequest, SyncGroupResponse};
use kafkar_protocol::primitives::Uuid;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::assignor::{assignors_from_config, decode_subscription};
use super::membership::{
    Action, ClassicApiVersions, ClassicMembership, ClassicState, ConsumerGroupMembership, ConsumerGroupState,
    GroupConfig, GroupRequest,
};
use super::offsets::MemberState;
use super::offsets::find_coordinator;
use super::pattern::TopicPattern;
use super::{CommitIdentity, ConsumerConfig, GroupProtocol, TopicPartition};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::net::{Connection, ConnectionClass};

/// Callbacks on assignment changes of a subscribed consumer, run in the application's task from within
/// `recv`/`poll`/the stream (as the Java client runs its `ConsumerRebalanceListener` inside `poll`).
///
/// Each callback gets the consumer, so it can seek, read positions, or commit. Commits made with
/// [`commit_async`](super::Consumer::commit_async) or
/// [`commit_offsets_async`](super::Consumer::commit_offsets_async) from `on_revoked` complete before the partitions
/// are released to other members.
pub trait RebalanceListener: Send {
    /// These partitions were assigned (possibly none); they are in the consumer's assignment already.
    fn on_assigned(&mut self, consumer: &mut super::Consumer, partitions: &[TopicPartition]) {
        let _ = (consumer, partitions);
    }

    /// These partitions are being taken away; they are still assigned while this runs (positions can be
    /// committed). With auto-commit on, their positions are committed already (queued before this call).
    fn on_revoked(&mut self, consumer: &mut super::Consumer, partitions: &[TopicPartition]) {
        let _ = (consumer, partitions);
    }

    /// These partitions were lost: the member was removed from the group and another member may own them
    /// already, so commits would fail. They are still assigned while this runs. Like the Java client, the default
    /// calls [`on_revoked`](Self::on_revoked).
    fn on_lost(&mut self, consumer: &mut super::Consumer, partitions: &[TopicPartition]) {
        self.on_revoked(consumer, partitions);
    }
}

/// What the driver tells the consumer.
#[derive(Debug)]
pub(crate) enum GroupEvent {
    /// Start fetching these partitions.
    Assigned(Vec<TopicPartition>),
    /// Stop fetching these partitions after committing them if `commit`; then acknowledge.
    Revoked { partitions: Vec<TopicPartition>, commit: bool },
    /// Stop fetching these partitions, without committing.
    Lost(Vec<TopicPartition>),
    /// The member stopped for good.
    Fatal(Error),
}

/// What the consumer tells the driver.
#[derive(Debug)]
pub(crate) enum GroupCommand {
    /// The application polled at this time.
    ApplicationPoll(Instant),
    /// The last revocation is done (commits and callback).
    RevocationComplete,
    /// A new subscription.
    Subscribe(Subscription),
    /// Leave the group (revoking first) and stop.
    Leave,
}

/// What a consumer subscribes to.
#[derive(Debug)]
pub(crate) enum Subscription {
    /// These topics.
    Topics(Vec<String>),
    /// The topics whose names the pattern matches, re-evaluated on every metadata refresh.
    Pattern(TopicPattern),
}

/// The consumer's side of a driver.
#[derive(Debug)]
pub(crate) struct GroupHandle {
    pub commands: mpsc::UnboundedSender<GroupCommand>,
    pub events: mpsc::UnboundedReceiver<GroupEvent>,
    /// What commits may carry now, as the driver publishes it.
    pub member: watch::Receiver<MemberState>,
    pub task: tokio::task::JoinHandle<()>,
    pub last_poll_signal: tokio::time::Instant,
}

impl GroupHandle {
    /// Starts a driver for `subscription`.
    pub fn start(
        config: &Arc<ConsumerConfig>,
        cluster: Arc<Cluster>,
        subscription: Subscription,
    ) -> Result<GroupHandle> {
        let group_config = group_config(config)?;
        let now = Instant::now();
        let machine = if config.group_protocol == GroupProtocol::Consumer {
            Machine::Consumer(ConsumerGroupMembership::new(group_config, now)?)
        } else {
            let assignors = assignors_from_config(&config.partition_assignment_strategy.join(","))?;
            Machine::Classic(ClassicMembership::new(group_config, assignors, now)?)
        };
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let (member_tx, member) = watch::channel(MemberState::default());
        let (reply_tx, replies) = mpsc::unbounded_channel();
        let driver = Driver {
            machine,
            cluster,
            group_id: config.group_id.clone().unwrap_or_default(),
            instance_id: config.group_instance_id.clone(),
            leave_timeout: config.client.request_timeout.min(Duration::from_secs(5)),
            coordinator: None,
            coordinator_epoch: 0,
            commit_before_revoke: false,
            events: event_tx,
            member: member_tx,
            revoking: Vec::new(),
            reply_tx,
            closing: false,
            stopped: false,
            pattern: None,
            matched: BTreeSet::new(),
        };
        let task = tokio::spawn(driver.run(subscription, command_rx, replies));
        Ok(GroupHandle { commands, events, member, task, last_poll_signal: tokio::time::Instant::now() })
    }
}

/// The membership settings of a consumer configuration.
fn group_config(config: &ConsumerConfig) -> Result<GroupConfig> {
    let group_id = config.group_id.clone().ok_or_else(|| Error::config("subscribing needs a group.id"))?;
    let mut g = GroupConfig::new(group_id);
    g.group_instance_id = config.group_instance_id.clone();
    g.client_rack = config.client_rack.clone();
    g.session_timeout = config.session_timeout;
    g.heartbeat_interval = config.heartbeat_interval;
    g.max_poll_interval = config.max_poll_interval;
    g.retry_backoff = config.client.retry_backoff;
    g.retry_backoff_max = config.client.retry_backoff_max;
    g.request_timeout = config.client.request_timeout;
    g.auto_commit = config.auto_commit();
    g.server_assignor = config.group_remote_assignor.clone();
    g.validate()?;
    Ok(g)
}

enum Machine {
    Classic(ClassicMembership),
    Consumer(ConsumerGroupMembership),
}

/// A reply for the driver, tagged with the coordinator epoch it was sent under.
enum Reply {
    Coordinator(Result<Connection>),
    Join(Result<JoinGroupResponse>),
    Sync(Result<SyncGroupResponse>),
    Heartbeat(Result<HeartbeatResponse>),
    ConsumerHeartbeat(Result<ConsumerGroupHeartbeatResponse>),
    Metadata,
}

struct Driver {
    machine: Machine,
    cluster: Arc<Cluster>,
    group_id: String,
    instance_id: Option<String>,
    leave_timeout: Duration,
    coordinator: Option<Connection>,
    coordinator_epoch: u64,
    commit_before_revoke: bool,
    events: mpsc::UnboundedSender<GroupEvent>,
    member: watch::Sender<MemberState>,
    /// The partitions of the last revocation, until the consumer acknowledges it: still the member's to commit.
    revoking: Vec<TopicPartition>,
    reply_tx: mpsc::UnboundedSender<(u64, Reply)>,
    closing: bool,
    stopped: bool,
    /// The pattern subscribed to, if any, and the topics it matched last.
    pattern: Option<TopicPattern>,
    matched: BTreeSet<String>,
}

fn failed(m: &mut ClassicMembership, request: GroupRequest, e: Error, now: Instant) -> Vec<Action> {
    debug!(?request, error = %e, "group request failed");
    m.handle_request_failure(now, request, &e)
}

/// Topic names from the metadata, by topic id.
fn names_of(cluster: &Cluster) -> impl Fn(Uuid) -> Option<String> {
    let snap = cluster.snapshot();
    move |id| snap.topic_by_id(id).map(|t| t.name.clone())
}

impl Driver {
    async fn run(
        mut self,
        subscription: Subscription,
        mut commands: mpsc::UnboundedReceiver<GroupCommand>,
        mut replies: mpsc::UnboundedReceiver<(u64, Reply)>,
    ) {
        info!(group = %self.group_id, ?subscription, "group driver started");
        let mut updates = self.cluster.updates();
        if matches!(subscription, Subscription::Pattern(_)) {
            // As the Java client: a pattern subscription joins with fresh metadata of all topics.
            self.cluster.want_all_topics();
            if let Err(e) = self.cluster.refresh().await {
                warn!(error = %e, "metadata refresh for the topic pattern failed");
            }
        }
        // Refreshes from here on are seen by the loop; the subscription matches against the snapshot after this.
        updates.mark_unchanged();
        let actions = self.subscribe(subscription);
        self.perform(actions).await;
        while !self.stopped {
            let now = Instant::now();
            let next = match &self.machine {
                Machine::Classic(m) => m.next_timeout(now),
                Machine::Consumer(m) => m.next_timeout(now),
            };
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                    None => std::future::pending().await,
                }
            };
            let actions = tokio::select! {
                command = commands.recv() => match command {
                    Some(c) => self.command(c),
                    None => {
                        // The consumer was dropped without close: stop without leaving (the coordinator removes
                        // the member after the session timeout).
                        debug!(group = %self.group_id, "consumer dropped; group driver stops");
                        break;
                    }
                },
                Some((epoch, reply)) = replies.recv() => {
                    if epoch == self.coordinator_epoch { self.reply(reply).await } else { Vec::new() }
                }
                () = sleep => self.poll(),
                Ok(()) = updates.changed() => self.metadata_refreshed(),
            };
            self.perform(actions).await;
            if self.closing && self.done() {
                break;
            }
        }
        self.stopped = true;
        self.update_identity();
        info!(group = %self.group_id, "group driver stopped");
    }

    /// Hands a subscription to the machine; a pattern is matched against the current metadata.
    fn subscribe(&mut self, subscription: Subscription) -> Vec<Action> {
        let now = Instant::now();
        match subscription {
            Subscription::Topics(topics) => {
                self.pattern = None;
                self.cluster.want(topics.iter().cloned());
                match &mut self.machine {
                    Machine::Classic(m) => m.subscribe(now, topics),
                    Machine::Consumer(m) => m.subscribe(now, topics),
                }
            }
            Subscription::Pattern(pattern) => {
                self.matched = pattern.matching(self.cluster.snapshot().topics.values());
                info!(group = %self.group_id, pattern = pattern.as_str(), topics = ?self.matched, "topic pattern matched");
                self.pattern = Some(pattern);
                self.subscribe_matched(now)
            }
        }
    }

    /// Hands the pattern and the topics it matches to the machine.
    fn subscribe_matched(&mut self, now: Instant) -> Vec<Action> {
        let Some(pattern) = &self.pattern else { return Vec::new() };
        let topics = self.matched.iter().cloned();
        match &mut self.machine {
            Machine::Classic(m) => m.subscribe(now, topics),
            Machine::Consumer(m) => m.subscribe_regex(now, pattern.as_str().to_owned(), topics),
        }
    }

    /// The metadata was refreshed: a pattern is matched again (the subscription changes when the matching set did);
    /// otherwise the membership sees the new metadata (a classic leader checks partition counts).
    fn metadata_refreshed(&mut self) -> Vec<Action> {
        if let Some(pattern) = &self.pattern {
            let topics = pattern.matching(self.cluster.snapshot().topics.values());
            if topics != self.matched {
                info!(group = %self.group_id, pattern = pattern.as_str(), ?topics, "topics matching the pattern changed");
                self.matched = topics;
                return self.subscribe_matched(Instant::now());
            }
        }
        self.metadata_changed()
    }

    /// Refreshes the metadata in the background.
    fn refresh_metadata(&self) {
        let cluster = self.cluster.clone();
        tokio::spawn(async move {
            if let Err(e) = cluster.refresh().await {
                warn!(error = %e, "metadata refresh failed");
            }
        });
    }

    fn done(&self) -> bool {
        match &self.machine {
            Machine::Classic(m) => matches!(m.state(), ClassicState::Left | ClassicState::Fatal),
            Machine::Consumer(m) => matches!(
                m.state(),
                ConsumerGroupState::Unsubscribed | ConsumerGroupState::Fatal | ConsumerGroupState::Stale
            ),
        }
    }

    fn poll(&mut self) -> Vec<Action> {
        let now = Instant::now();
        match &mut self.machine {
            Machine::Classic(m) => m.poll(now),
            Machine::Consumer(m) => m.poll(now, &names_of(&self.cluster)),
        }
    }

    /// Any refresh (the periodic one, the fetcher's, the producer's): the classic leader rebalances if a subscribed
    /// topic appeared or changed its partition count; a KIP-848 member resolves assigned topic ids.
    fn metadata_changed(&mut self) -> Vec<Action> {
        let now = Instant::now();
        match &mut self.machine {
            Machine::Classic(m) => {
                let snap = self.cluster.snapshot();
                let counts = |t: &str| snap.topic(t).map(|t| t.partition_count());
                m.metadata_updated(now, &counts)
            }
            Machine::Consumer(m) => m.poll(now, &names_of(&self.cluster)),
        }
    }

    fn command(&mut self, command: GroupCommand) -> Vec<Action> {
        if let GroupCommand::Subscribe(subscription) = command {
            if matches!(subscription, Subscription::Pattern(_)) {
                // Topics the snapshot does not know yet are picked up after this refresh.
                self.cluster.want_all_topics();
                self.refresh_metadata();
            }
            return self.subscribe(subscription);
        }
        let now = Instant::now();
        let names = names_of(&self.cluster);
        match (command, &mut self.machine) {
            (GroupCommand::ApplicationPoll(at), Machine::Classic(m)) => m.application_poll(at.min(now)),
            (GroupCommand::ApplicationPoll(at), Machine::Consumer(m)) => m.application_poll(at.min(now), &names),
            (GroupCommand::RevocationComplete, Machine::Classic(m)) => {
                self.revoking.clear();
                m.revocation_complete(now)
            }
            (GroupCommand::RevocationComplete, Machine::Consumer(m)) => {
                self.revoking.clear();
                m.revocation_complete(now, &names)
            }
            (GroupCommand::Subscribe(_), _) => Vec::new(), // Handled above.
            (GroupCommand::Leave, machine) => {
                self.closing = true;
                match machine {
                    Machine::Classic(m) => m.leave(now),
                    Machine::Consumer(m) => m.leave(now),
                }
            }
        }
    }

    async fn reply(&mut self, reply: Reply) -> Vec<Action> {
        let reply = match reply {
            Reply::Join(Ok(resp)) => return self.joined(resp).await,
            other => other,
        };
        let now = Instant::now();
        let names = names_of(&self.cluster);
        match (reply, &mut self.machine) {
            (Reply::Coordinator(Ok(conn)), Machine::Classic(m)) => {
                let v = conn.versions();
                let versions = (|| -> Result<ClassicApiVersions> {
                    Ok(ClassicApiVersions {
                        join_group: v.pick::<JoinGroupRequest>()?,
                        sync_group: v.pick::<SyncGroupRequest>()?,
                        heartbeat: v.pick::<HeartbeatRequest>()?,
                        leave_group: v.pick::<LeaveGroupRequest>()?,
                    })
                })();
                match versions {
                    Ok(versions) => {
                        self.coordinator = Some(conn);
                        m.coordinator_found(now, versions)
                    }
                    Err(e) => m.coordinator_lookup_failed(now, &e),
                }
            }
            (Reply::Coordinator(Ok(conn)), Machine::Consumer(m)) => {
                match conn.versions().pick::<ConsumerGroupHeartbeatRequest>() {
                    Ok(version) => {
                        self.coordinator = Some(conn);
                        m.coordinator_found(now, version, &names)
                    }
                    Err(e) => m.coordinator_lookup_failed(now, &e),
                }
            }
            (Reply::Coordinator(Err(e)), Machine::Classic(m)) => m.coordinator_lookup_failed(now, &e),
            (Reply::Coordinator(Err(e)), Machine::Consumer(m)) => m.coordinator_lookup_failed(now, &e),
            (Reply::Sync(Ok(resp)), Machine::Classic(m)) => m.handle_sync_group_response(now, &resp),
            (Reply::Heartbeat(Ok(resp)), Machine::Classic(m)) => m.handle_heartbeat_response(now, &resp),
            (Reply::Join(Err(e)), Machine::Classic(m)) => failed(m, GroupRequest::JoinGroup, e, now),
            (Reply::Sync(Err(e)), Machine::Classic(m)) => failed(m, GroupRequest::SyncGroup, e, now),
            (Reply::Heartbeat(Err(e)), Machine::Classic(m)) => failed(m, GroupRequest::Heartbeat, e, now),
            (Reply::ConsumerHeartbeat(Ok(resp)), Machine::Consumer(m)) => {
                m.handle_heartbeat_response(now, &resp, &names)
            }
            (Reply::ConsumerHeartbeat(Err(e)), Machine::Consumer(m)) => {
                self.coordinator = None;
                m.handle_request_failure(now, &e, &names)
            }
            (Reply::Metadata, Machine::Classic(m)) => {
                let snap = self.cluster.snapshot();
                let counts = |t: &str| snap.topic(t).map(|t| t.partition_count());
                m.metadata_updated(now, &counts)
            }
            (Reply::Metadata, Machine::Consumer(m)) => m.poll(now, &names),
            _ => Vec::new(),
        }
    }

    /// A JoinGroup response; as leader, first makes sure the metadata has every topic the members subscribe to.
    async fn joined(&mut self, resp: JoinGroupResponse) -> Vec<Action> {
        if resp.error_code.is_ok() && resp.leader == resp.member_id {
            let topics: BTreeSet<String> = resp
                .members
                .iter()
                .filter_map(|member| decode_subscription(member).ok())
                .flat_map(|(s, _)| s.topics)
                .collect();
            let missing = {
                let snap = self.cluster.snapshot();
                topics.iter().any(|t| snap.topic(t).is_none())
            };
            self.cluster.want(topics);
            if missing {
                if let Err(e) = self.cluster.refresh().await {
                    warn!(error = %e, "metadata refresh for the group's assignment failed");
                }
            }
        }
        let snap = self.cluster.snapshot();
        let counts = |t: &str| snap.topic(t).map(|t| t.partition_count());
        match &mut self.machine {
            Machine::Classic(m) => m.handle_join_group_response(Instant::now(), &resp, &counts),
            Machine::Consumer(_) => Vec::new(),
        }
    }

    /// Publishes what commits may carry now: the member's generation (classic) or member epoch (KIP-848) and id,
    /// or nothing while no generation can commit, and the partitions the member owns.
    fn update_identity(&self) {
        let (commit, mut owned, stopped) = match &self.machine {
            Machine::Classic(m) => (
                m.commit_generation().map(|(g, id)| (g, id.to_owned())),
                m.assignment(),
                matches!(m.state(), ClassicState::Left | ClassicState::Fatal),
            ),
            Machine::Consumer(m) => (
                (m.member_epoch() > 0).then(|| (m.member_epoch(), m.member_id().to_owned())),
                m.assignment(),
                matches!(m.state(), ConsumerGroupState::Unsubscribed | ConsumerGroupState::Fatal)
                    && (self.closing || m.state() == ConsumerGroupState::Fatal),
            ),
        };
        owned.extend(self.revoking.iter().cloned());
        let commit = commit.map(|(generation, member_id)| CommitIdentity {
            generation,
            member_id,
            group_instance_id: self.instance_id.clone(),
        });
        let stopped = stopped || self.stopped;
        self.member.send_if_modified(|s| {
            let changed = s.commit != commit
                || s.stopped != stopped
                || s.owned.len() != owned.len()
                || !owned.iter().all(|tp| s.owned.contains(tp));
            if changed {
                if commit.is_some() && s.commit != commit {
                    s.published += 1;
                }
                s.commit = commit;
                s.owned = owned.into_iter().collect();
                s.stopped = stopped;
            }
            changed
        });
    }

    fn send<F, Fut>(&self, make: F)
    where
        F: FnOnce(Connection) -> Fut,
        Fut: std::future::Future<Output = Reply> + Send + 'static,
    {
        let epoch = self.coordinator_epoch;
        let tx = self.reply_tx.clone();
        let Some(conn) = self.coordinator.clone() else {
            // Unreachable while the machine believes the coordinator is known; fail the request so it retries.
            warn!("group request without a coordinator connection");
            return;
        };
        let fut = make(conn);
        tokio::spawn(async move {
            let reply = fut.await;
            let _ = tx.send((epoch, reply));
        });
    }

    async fn perform(&mut self, actions: Vec<Action>) {
        let mut queue = std::collections::VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            self.update_identity();
            match action {
                Action::FindCoordinator => {
                    self.coordinator_epoch += 1;
                    self.coordinator = None;
                    let cluster = self.cluster.clone();
                    let group = self.group_id.clone();
                    let epoch = self.coordinator_epoch;
                    let tx = self.reply_tx.clone();
                    tokio::spawn(async move {
                        let r = find_coordinator(&cluster, &group, ConnectionClass::GroupMembership).await;
                        if let Ok(conn) = &r {
                            // The member's offsets (OffsetFetch once assigned, commits) go to the same coordinator
                            // on a connection of their own: dialled while the first heartbeat or join is out.
                            cluster.pool().warm(ConnectionClass::GroupOffsets, conn.addr());
                        }
                        let _ = tx.send((epoch, Reply::Coordinator(r)));
                    });
                }
                Action::SendJoinGroup { request, version, timeout } => {
                    self.send(
                        move |c| async move { Reply::Join(c.send_at_with_timeout(&request, version, timeout).await) },
                    );
                }
                Action::SendSyncGroup { request, version } => {
                    self.send(move |c| async move { Reply::Sync(c.send_at(&request, version).await) });
                }
                Action::SendHeartbeat { request, version } => {
                    self.send(move |c| async move { Reply::Heartbeat(c.send_at(&request, version).await) });
                }
                Action::SendLeaveGroup { request, version } => {
                    // Best effort, but waited for so that it is out before the connections close.
                    if let Some(conn) = self.coordinator.clone() {
                        match tokio::time::timeout(self.leave_timeout, conn.send_at(&request, version)).await {
                            Ok(Ok(resp)) => {
                                if let Machine::Classic(m) = &mut self.machine {
                                    queue.extend(m.handle_leave_group_response(Instant::now(), &resp));
                                }
                            }
                            Ok(Err(e)) => warn!(error = %e, "LeaveGroup failed"),
                            Err(_) => warn!("LeaveGroup timed out"),
                        }
                    }
                }
                Action::SendConsumerGroupHeartbeat { request, version } => {
                    if request.member_epoch < 0 {
                        // The leave heartbeat: its reply changes nothing; wait for it so that it is out.
                        if let Some(conn) = self.coordinator.clone() {
                            match tokio::time::timeout(self.leave_timeout, conn.send_at(&request, version)).await {
                                Ok(Ok(resp)) if resp.error_code.is_err() => {
                                    warn!(code = %resp.error_code, "leave heartbeat failed")
                                }
                                Ok(Ok(_)) => {}
                                Ok(Err(e)) => warn!(error = %e, "leave heartbeat failed"),
                                Err(_) => warn!("leave heartbeat timed out"),
                            }
                        }
                    } else {
                        self.send(move |c| async move { Reply::ConsumerHeartbeat(c.send_at(&request, version).await) });
                    }
                }
                Action::RefreshMetadata { topic_ids } => {
                    debug!(?topic_ids, "refreshing metadata for assigned topic ids");
                    let cluster = self.cluster.clone();
                    let epoch = self.coordinator_epoch;
                    let tx = self.reply_tx.clone();
                    tokio::spawn(async move {
                        if let Err(e) = cluster.refresh().await {
                            warn!(error = %e, "metadata refresh failed");
                            tokio::time::sleep(cluster.config().retry_backoff).await;
                        }
                        let _ = tx.send((epoch, Reply::Metadata));
                    });
                }
                Action::CommitBeforeRevoke(_) => self.commit_before_revoke = true,
                Action::Revoked(partitions) => {
                    self.revoking = partitions.clone();
                    let commit = std::mem::take(&mut self.commit_before_revoke);
                    self.emit(GroupEvent::Revoked { partitions, commit });
                }
                Action::Assigned(partitions) => self.emit(GroupEvent::Assigned(partitions)),
                Action::Lost(partitions) => self.emit(GroupEvent::Lost(partitions)),
                Action::Fatal(e) => {
                    warn!(group = %self.group_id, error = %e, "group membership failed");
                    self.emit(GroupEvent::Fatal(e));
                }
            }
        }
        self.update_identity();
    }

    fn emit(&mut self, event: GroupEvent) {
        if self.events.send(event).is_err() {
            // The consumer is gone.
            self.stopped = true;
        }
    }
}
