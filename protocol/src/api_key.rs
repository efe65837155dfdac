//! [`ApiKey`]: the open set of Kafka request types.

use std::fmt;

/// A Kafka API key (the request type). Open: keys this crate does not know are kept as their raw value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiKey(pub i16);

impl ApiKey {
    /// The raw key.
    pub const fn key(self) -> i16 {
        self.0
    }

    /// The Kafka name of the API (`Metadata`), or `None` for a key this crate does not know.
    pub fn name(self) -> Option<&'static str> {
        API_TABLE.binary_search_by_key(&self.0, |e| e.0).ok().map(|i| API_TABLE[i].1)
    }

    /// Every key this crate knows, in key order.
    pub fn all() -> impl Iterator<Item = ApiKey> {
        API_TABLE.iter().map(|e| ApiKey(e.0))
    }
}

impl From<i16> for ApiKey {
    fn from(v: i16) -> Self {
        ApiKey(v)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "ApiKey({})", self.0),
        }
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "api key {}", self.0),
        }
    }
}

// Table derived from Apache Kafka 4.4.0 `ApiKeys`.
impl ApiKey {
    /// `Produce` (0).
    pub const PRODUCE: ApiKey = ApiKey(0);
    /// `Fetch` (1).
    pub const FETCH: ApiKey = ApiKey(1);
    /// `ListOffsets` (2).
    pub const LIST_OFFSETS: ApiKey = ApiKey(2);
    /// `Metadata` (3).
    pub const METADATA: ApiKey = ApiKey(3);
    /// `LeaderAndIsr` (4).
    pub const LEADER_AND_ISR: ApiKey = ApiKey(4);
    /// `StopReplica` (5).
    pub const STOP_REPLICA: ApiKey = ApiKey(5);
    /// `UpdateMetadata` (6).
    pub const UPDATE_METADATA: ApiKey = ApiKey(6);
    /// `ControlledShutdown` (7).
    pub const CONTROLLED_SHUTDOWN: ApiKey = ApiKey(7);
    /// `OffsetCommit` (8).
    pub const OFFSET_COMMIT: ApiKey = ApiKey(8);
    /// `OffsetFetch` (9).
    pub const OFFSET_FETCH: ApiKey = ApiKey(9);
    /// `FindCoordinator` (10).
    pub const FIND_COORDINATOR: ApiKey = ApiKey(10);
    /// `JoinGroup` (11).
    pub const JOIN_GROUP: ApiKey = ApiKey(11);
    /// `Heartbeat` (12).
    pub const HEARTBEAT: ApiKey = ApiKey(12);
    /// `LeaveGroup` (13).
    pub const LEAVE_GROUP: ApiKey = ApiKey(13);
    /// `SyncGroup` (14).
    pub const SYNC_GROUP: ApiKey = ApiKey(14);
    /// `DescribeGroups` (15).
    pub const DESCRIBE_GROUPS: ApiKey = ApiKey(15);
    /// `ListGroups` (16).
    pub const LIST_GROUPS: ApiKey = ApiKey(16);
    /// `SaslHandshake` (17).
    pub const SASL_HANDSHAKE: ApiKey = ApiKey(17);
    /// `ApiVersions` (18).
    pub const API_VERSIONS: ApiKey = ApiKey(18);
    /// `CreateTopics` (19).
    pub const CREATE_TOPICS: ApiKey = ApiKey(19);
    /// `DeleteTopics` (20).
    pub const DELETE_TOPICS: ApiKey = ApiKey(20);
    /// `DeleteRecords` (21).
    pub const DELETE_RECORDS: ApiKey = ApiKey(21);
    /// `InitProducerId` (22).
    pub const INIT_PRODUCER_ID: ApiKey = ApiKey(22);
    /// `OffsetForLeaderEpoch` (23).
    pub const OFFSET_FOR_LEADER_EPOCH: ApiKey = ApiKey(23);
    /// `AddPartitionsToTxn` (24).
    pub const ADD_PARTITIONS_TO_TXN: ApiKey = ApiKey(24);
    /// `AddOffsetsToTxn` (25).
    pub const ADD_OFFSETS_TO_TXN: ApiKey = ApiKey(25);
    /// `EndTxn` (26).
    pub const END_TXN: ApiKey = ApiKey(26);
    /// `WriteTxnMarkers` (27).
    pub const WRITE_TXN_MARKERS: ApiKey = ApiKey(27);
    /// `TxnOffsetCommit` (28).
    pub const TXN_OFFSET_COMMIT: ApiKey = ApiKey(28);
    /// `DescribeAcls` (29).
    pub const DESCRIBE_ACLS: ApiKey = ApiKey(29);
    /// `CreateAcls` (30).
    pub const CREATE_ACLS: ApiKey = ApiKey(30);
    /// `DeleteAcls` (31).
    pub const DELETE_ACLS: ApiKey = ApiKey(31);
    /// `DescribeConfigs` (32).
    pub const DESCRIBE_CONFIGS: ApiKey = ApiKey(32);
    /// `AlterConfigs` (33).
    pub const ALTER_CONFIGS: ApiKey = ApiKey(33);
    /// `AlterReplicaLogDirs` (34).
    pub const ALTER_REPLICA_LOG_DIRS: ApiKey = ApiKey(34);
    /// `DescribeLogDirs` (35).
    pub const DESCRIBE_LOG_DIRS: ApiKey = ApiKey(35);
    /// `SaslAuthenticate` (36).
    pub const SASL_AUTHENTICATE: ApiKey = ApiKey(36);
    /// `CreatePartitions` (37).
    pub const CREATE_PARTITIONS: ApiKey = ApiKey(37);
    /// `CreateDelegationToken` (38).
    pub const CREATE_DELEGATION_TOKEN: ApiKey = ApiKey(38);
    /// `RenewDelegationToken` (39).
    pub const RENEW_DELEGATION_TOKEN: ApiKey = ApiKey(39);
    /// `ExpireDelegationToken` (40).
    pub const EXPIRE_DELEGATION_TOKEN: ApiKey = ApiKey(40);
    /// `DescribeDelegationToken` (41).
    pub const DESCRIBE_DELEGATION_TOKEN: ApiKey = ApiKey(41);
    /// `DeleteGroups` (42).
    pub const DELETE_GROUPS: ApiKey = ApiKey(42);
    /// `ElectLeaders` (43).
    pub const ELECT_LEADERS: ApiKey = ApiKey(43);
    /// `IncrementalAlterConfigs` (44).
    pub const INCREMENTAL_ALTER_CONFIGS: ApiKey = ApiKey(44);
    /// `AlterPartitionReassignments` (45).
    pub const ALTER_PARTITION_REASSIGNMENTS: ApiKey = ApiKey(45);
    /// `ListPartitionReassignments` (46).
    pub const LIST_PARTITION_REASSIGNMENTS: ApiKey = ApiKey(46);
    /// `OffsetDelete` (47).
    pub const OFFSET_DELETE: ApiKey = ApiKey(47);
    /// `DescribeClientQuotas` (48).
    pub const DESCRIBE_CLIENT_QUOTAS: ApiKey = ApiKey(48);
    /// `AlterClientQuotas` (49).
    pub const ALTER_CLIENT_QUOTAS: ApiKey = ApiKey(49);
    /// `DescribeUserScramCredentials` (50).
    pub const DESCRIBE_USER_SCRAM_CREDENTIALS: ApiKey = ApiKey(50);
    /// `AlterUserScramCredentials` (51).
    pub const ALTER_USER_SCRAM_CREDENTIALS: ApiKey = ApiKey(51);
    /// `Vote` (52).
    pub const VOTE: ApiKey = ApiKey(52);
    /// `BeginQuorumEpoch` (53).
    pub const BEGIN_QUORUM_EPOCH: ApiKey = ApiKey(53);
    /// `EndQuorumEpoch` (54).
    pub const END_QUORUM_EPOCH: ApiKey = ApiKey(54);
    /// `DescribeQuorum` (55).
    pub const DESCRIBE_QUORUM: ApiKey = ApiKey(55);
    /// `AlterPartition` (56).
    pub const ALTER_PARTITION: ApiKey = ApiKey(56);
    /// `UpdateFeatures` (57).
    pub const UPDATE_FEATURES: ApiKey = ApiKey(57);
    /// `Envelope` (58).
    pub const ENVELOPE: ApiKey = ApiKey(58);
    /// `FetchSnapshot` (59).
    pub const FETCH_SNAPSHOT: ApiKey = ApiKey(59);
    /// `DescribeCluster` (60).
    pub const DESCRIBE_CLUSTER: ApiKey = ApiKey(60);
    /// `DescribeProducers` (61).
    pub const DESCRIBE_PRODUCERS: ApiKey = ApiKey(61);
    /// `BrokerRegistration` (62).
    pub const BROKER_REGISTRATION: ApiKey = ApiKey(62);
    /// `BrokerHeartbeat` (63).
    pub const BROKER_HEARTBEAT: ApiKey = ApiKey(63);
    /// `UnregisterBroker` (64).
    pub const UNREGISTER_BROKER: ApiKey = ApiKey(64);
    /// `DescribeTransactions` (65).
    pub const DESCRIBE_TRANSACTIONS: ApiKey = ApiKey(65);
    /// `ListTransactions` (66).
    pub const LIST_TRANSACTIONS: ApiKey = ApiKey(66);
    /// `AllocateProducerIds` (67).
    pub const ALLOCATE_PRODUCER_IDS: ApiKey = ApiKey(67);
    /// `ConsumerGroupHeartbeat` (68).
    pub const CONSUMER_GROUP_HEARTBEAT: ApiKey = ApiKey(68);
    /// `ConsumerGroupDescribe` (69).
    pub const CONSUMER_GROUP_DESCRIBE: ApiKey = ApiKey(69);
    /// `ControllerRegistration` (70).
    pub const CONTROLLER_REGISTRATION: ApiKey = ApiKey(70);
    /// `GetTelemetrySubscriptions` (71).
    pub const GET_TELEMETRY_SUBSCRIPTIONS: ApiKey = ApiKey(71);
    /// `PushTelemetry` (72).
    pub const PUSH_TELEMETRY: ApiKey = ApiKey(72);
    /// `AssignReplicasToDirs` (73).
    pub const ASSIGN_REPLICAS_TO_DIRS: ApiKey = ApiKey(73);
    /// `ListConfigResources` (74).
    pub const LIST_CONFIG_RESOURCES: ApiKey = ApiKey(74);
    /// `DescribeTopicPartitions` (75).
    pub const DESCRIBE_TOPIC_PARTITIONS: ApiKey = ApiKey(75);
    /// `ShareGroupHeartbeat` (76).
    pub const SHARE_GROUP_HEARTBEAT: ApiKey = ApiKey(76);
    /// `ShareGroupDescribe` (77).
    pub const SHARE_GROUP_DESCRIBE: ApiKey = ApiKey(77);
    /// `ShareFetch` (78).
    pub const SHARE_FETCH: ApiKey = ApiKey(78);
    /// `ShareAcknowledge` (79).
    pub const SHARE_ACKNOWLEDGE: ApiKey = ApiKey(79);
    /// `AddRaftVoter` (80).
    pub const ADD_RAFT_VOTER: ApiKey = ApiKey(80);
    /// `RemoveRaftVoter` (81).
    pub const REMOVE_RAFT_VOTER: ApiKey = ApiKey(81);
    /// `UpdateRaftVoter` (82).
    pub const UPDATE_RAFT_VOTER: ApiKey = ApiKey(82);
    /// `InitializeShareGroupState` (83).
    pub const INITIALIZE_SHARE_GROUP_STATE: ApiKey = ApiKey(83);
    /// `ReadShareGroupState` (84).
    pub const READ_SHARE_GROUP_STATE: ApiKey = ApiKey(84);
    /// `WriteShareGroupState` (85).
    pub const WRITE_SHARE_GROUP_STATE: ApiKey = ApiKey(85);
    /// `DeleteShareGroupState` (86).
    pub const DELETE_SHARE_GROUP_STATE: ApiKey = ApiKey(86);
    /// `ReadShareGroupStateSummary` (87).
    pub const READ_SHARE_GROUP_STATE_SUMMARY: ApiKey = ApiKey(87);
    /// `StreamsGroupHeartbeat` (88).
    pub const STREAMS_GROUP_HEARTBEAT: ApiKey = ApiKey(88);
    /// `StreamsGroupDescribe` (89).
    pub const STREAMS_GROUP_DESCRIBE: ApiKey = ApiKey(89);
    /// `DescribeShareGroupOffsets` (90).
    pub const DESCRIBE_SHARE_GROUP_OFFSETS: ApiKey = ApiKey(90);
    /// `AlterShareGroupOffsets` (91).
    pub const ALTER_SHARE_GROUP_OFFSETS: ApiKey = ApiKey(91);
    /// `DeleteShareGroupOffsets` (92).
    pub const DELETE_SHARE_GROUP_OFFSETS: ApiKey = ApiKey(92);
    /// `StreamsGroupTopologyDescriptionUpdate` (93).
    pub const STREAMS_GROUP_TOPOLOGY_DESCRIPTION_UPDATE: ApiKey = ApiKey(93);
    /// `UnregisterController` (94).
    pub const UNREGISTER_CONTROLLER: ApiKey = ApiKey(94);
}

/// `(key, name)` for every API key Kafka 4.4 defines, sorted by key.
pub(crate) const API_TABLE: &[(i16, &str)] = &[
    (0, "Produce"),
    (1, "Fetch"),
    (2, "ListOffsets"),
    (3, "Metadata"),
    (4, "LeaderAndIsr"),
    (5, "StopReplica"),
    (6, "UpdateMetadata"),
    (7, "ControlledShutdown"),
    (8, "OffsetCommit"),
    (9, "OffsetFetch"),
    (10, "FindCoordinator"),
    (11, "JoinGroup"),
    (12, "Heartbeat"),
    (13, "LeaveGroup"),
    (14, "SyncGroup"),
    (15, "DescribeGroups"),
    (16, "ListGroups"),
    (17, "SaslHandshake"),
    (18, "ApiVersions"),
    (19, "CreateTopics"),
    (20, "DeleteTopics"),
    (21, "DeleteRecords"),
    (22, "InitProducerId"),
    (23, "OffsetForLeaderEpoch"),
    (24, "AddPartitionsToTxn"),
    (25, "AddOffsetsToTxn"),
    (26, "EndTxn"),
    (27, "WriteTxnMarkers"),
    (28, "TxnOffsetCommit"),
    (29, "DescribeAcls"),
    (30, "CreateAcls"),
    (31, "DeleteAcls"),
    (32, "DescribeConfigs"),
    (33, "AlterConfigs"),
    (34, "AlterReplicaLogDirs"),
    (35, "DescribeLogDirs"),
    (36, "SaslAuthenticate"),
    (37, "CreatePartitions"),
    (38, "CreateDelegationToken"),
    (39, "RenewDelegationToken"),
    (40, "ExpireDelegationToken"),
    (41, "DescribeDelegationToken"),
    (42, "DeleteGroups"),
    (43, "ElectLeaders"),
    (44, "IncrementalAlterConfigs"),
    (45, "AlterPartitionReassignments"),
    (46, "ListPartitionReassignments"),
    (47, "OffsetDelete"),
    (48, "DescribeClientQuotas"),
    (49, "AlterClientQuotas"),
    (50, "DescribeUserScramCredentials"),
    (51, "AlterUserScramCredentials"),
    (52, "Vote"),
    (53, "BeginQuorumEpoch"),
    (54, "EndQuorumEpoch"),
    (55, "DescribeQuorum"),
    (56, "AlterPartition"),
    (57, "UpdateFeatures"),
    (58, "Envelope"),
    (59, "FetchSnapshot"),
    (60, "DescribeCluster"),
    (61, "DescribeProducers"),
    (62, "BrokerRegistration"),
    (63, "BrokerHeartbeat"),
    (64, "UnregisterBroker"),
    (65, "DescribeTransactions"),
    (66, "ListTransactions"),
    (67, "AllocateProducerIds"),
    (68, "ConsumerGroupHeartbeat"),
    (69, "ConsumerGroupDescribe"),
    (70, "ControllerRegistration"),
    (71, "GetTelemetrySubscriptions"),
    (72, "PushTelemetry"),
    (73, "AssignReplicasToDirs"),
    (74, "ListConfigResources"),
    (75, "DescribeTopicPartitions"),
    (76, "ShareGroupHeartbeat"),
    (77, "ShareGroupDescribe"),
    (78, "ShareFetch"),
    (79, "ShareAcknowledge"),
    (80, "AddRaftVoter"),
    (81, "RemoveRaftVoter"),
    (82, "UpdateRaftVoter"),
    (83, "InitializeShareGroupState"),
    (84, "ReadShareGroupState"),
    (85, "WriteShareGroupState"),
    (86, "DeleteShareGroupState"),
    (87, "ReadShareGroupStateSummary"),
    (88, "StreamsGroupHeartbeat"),
    (89, "StreamsGroupDescribe"),
    (90, "DescribeShareGroupOffsets"),
    (91, "AlterShareGroupOffsets"),
    (92, "DeleteShareGroupOffsets"),
    (93, "StreamsGroupTopologyDescriptionUpdate"),
    (94, "UnregisterController"),
];
