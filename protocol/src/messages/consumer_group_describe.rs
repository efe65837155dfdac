//! ConsumerGroupDescribe (key 69): consumer groups of the KIP-848 protocol, with epochs, members, their subscriptions
//! and their current and target assignments. Versions 0–1, all flexible (v1 adds the member type).

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// ConsumerGroupDescribe request.
    pub struct ConsumerGroupDescribeRequest: request(CONSUMER_GROUP_DESCRIBE -> ConsumerGroupDescribeResponse), versions "0-1", flexible "0+" {
        /// The group ids.
        group_ids: Vec<String> = "GroupIds" "[]string" "0+",
        /// Also return what the caller may do on each group.
        include_authorized_operations: bool = "IncludeAuthorizedOperations" "bool" "0+",
    }
}

message! {
    /// ConsumerGroupDescribe response.
    pub struct ConsumerGroupDescribeResponse: response(CONSUMER_GROUP_DESCRIBE), versions "0-1", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One entry per group asked for.
        groups: Vec<DescribedConsumerGroup> = "Groups" "[]DescribedGroup" "0+",
    }
}

structure! {
    /// One element of the `groups` array.
    pub struct DescribedConsumerGroup {
        /// The group's error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The broker's explanation of the error, if any.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The state (`Empty`, `Assigning`, `Reconciling`, `Stable`, `Dead`).
        group_state: String = "GroupState" "string" "0+",
        /// The group epoch (bumped on every membership or subscription change).
        group_epoch: i32 = "GroupEpoch" "int32" "0+",
        /// The epoch of the target assignment.
        assignment_epoch: i32 = "AssignmentEpoch" "int32" "0+",
        /// The server-side assignor in use.
        assignor_name: String = "AssignorName" "string" "0+",
        /// The members.
        members: Vec<DescribedConsumerGroupMember> = "Members" "[]Member" "0+",
        /// A bit set of the operations the caller may do on the group; `i32::MIN` when not asked for.
        authorized_operations: i32 = "AuthorizedOperations" "int32" "0+" default i32::MIN,
    }
}

structure! {
    /// One element of the `members` array.
    pub struct DescribedConsumerGroupMember {
        /// The member id.
        member_id: String = "MemberId" "string" "0+",
        /// The static member's instance id, if any.
        instance_id: Option<String> = "InstanceId" "string" "0+" nullable "0+",
        /// The member's rack, if any.
        rack_id: Option<String> = "RackId" "string" "0+" nullable "0+",
        /// The member's current epoch.
        member_epoch: i32 = "MemberEpoch" "int32" "0+",
        /// The member's `client.id`.
        client_id: String = "ClientId" "string" "0+",
        /// The host the member connected from.
        client_host: String = "ClientHost" "string" "0+",
        /// The topics the member subscribed to by name.
        subscribed_topic_names: Vec<String> = "SubscribedTopicNames" "[]string" "0+",
        /// The member's subscription pattern, if it has one.
        subscribed_topic_regex: Option<String> = "SubscribedTopicRegex" "string" "0+" nullable "0+",
        /// The partitions the member owns now.
        assignment: DescribedAssignment = "Assignment" "Assignment" "0+",
        /// The partitions the coordinator wants the member to own.
        target_assignment: DescribedAssignment = "TargetAssignment" "Assignment" "0+",
        /// Which protocol the member joined with: 0 classic, 1 consumer; -1 unknown.
        member_type: i8 = "MemberType" "int8" "1+" default -1,
    }
}

structure! {
    /// A set of partitions assigned to a member, per topic.
    pub struct DescribedAssignment {
        /// The partitions, per topic.
        topic_partitions: Vec<DescribedTopicPartitions> = "TopicPartitions" "[]TopicPartitions" "0+",
    }
}

structure! {
    /// One element of the `topic_partitions` array.
    pub struct DescribedTopicPartitions {
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "0+",
        /// The topic name.
        topic_name: String = "TopicName" "string" "0+",
        /// The partition indexes.
        partitions: Vec<i32> = "Partitions" "[]int32" "0+",
    }
}
