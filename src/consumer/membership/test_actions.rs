//! Test support shared by both membership machines' tests: naming and picking [`Action`]s.

use super::Action;
use crate::consumer::TopicPartition;
use crate::error::Error;

/// The kind of each action, for assertions and failure messages.
pub(super) fn kinds(actions: &[Action]) -> Vec<&'static str> {
    actions
        .iter()
        .map(|a| match a {
            Action::FindCoordinator => "FindCoordinator",
            Action::SendJoinGroup { .. } => "JoinGroup",
            Action::SendSyncGroup { .. } => "SyncGroup",
            Action::SendHeartbeat { .. } => "Heartbeat",
            Action::SendLeaveGroup { .. } => "LeaveGroup",
            Action::SendConsumerGroupHeartbeat { .. } => "ConsumerGroupHeartbeat",
            Action::RefreshMetadata { .. } => "RefreshMetadata",
            Action::CommitBeforeRevoke(_) => "Commit",
            Action::Revoked(_) => "Revoked",
            Action::Assigned(_) => "Assigned",
            Action::Lost(_) => "Lost",
            Action::Fatal(_) => "Fatal",
        })
        .collect()
}

fn partitions_of(actions: &[Action], pick: fn(&Action) -> Option<&Vec<TopicPartition>>) -> Vec<TopicPartition> {
    actions.iter().find_map(pick).cloned().unwrap_or_else(|| panic!("missing action in {:?}", kinds(actions)))
}

/// The partitions of the first [`Action::Assigned`].
pub(super) fn assigned_of(actions: &[Action]) -> Vec<TopicPartition> {
    partitions_of(actions, |a| if let Action::Assigned(p) = a { Some(p) } else { None })
}

/// The partitions of the first [`Action::Revoked`].
pub(super) fn revoked_of(actions: &[Action]) -> Vec<TopicPartition> {
    partitions_of(actions, |a| if let Action::Revoked(p) = a { Some(p) } else { None })
}

/// The partitions of the first [`Action::Lost`].
pub(super) fn lost_of(actions: &[Action]) -> Vec<TopicPartition> {
    partitions_of(actions, |a| if let Action::Lost(p) = a { Some(p) } else { None })
}

/// The error of the first [`Action::Fatal`].
pub(super) fn fatal_of(actions: &[Action]) -> &Error {
    actions
        .iter()
        .find_map(|a| if let Action::Fatal(e) = a { Some(e) } else { None })
        .unwrap_or_else(|| panic!("no Fatal in {:?}", kinds(actions)))
}
