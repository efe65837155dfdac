//! DescribeCluster (key 60): the cluster id, the controller and the live brokers with their racks (KIP-700). Version 1
//! can ask for the controllers' own endpoints instead of the brokers' (KIP-919); version 2 includes fenced brokers.
//! Versions 0–2, all flexible.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DescribeCluster request.
    pub struct DescribeClusterRequest: request(DESCRIBE_CLUSTER -> DescribeClusterResponse), versions "0-2", flexible "0+" {
        /// Also return what the caller may do on the cluster resource.
        include_cluster_authorized_operations: bool = "IncludeClusterAuthorizedOperations" "bool" "0+",
        /// Whose endpoints to list: 1 brokers, 2 controllers.
        endpoint_type: i8 = "EndpointType" "int8" "1+" default 1,
        /// Also list brokers the controller has fenced.
        include_fenced_brokers: bool = "IncludeFencedBrokers" "bool" "2+",
    }
}

message! {
    /// DescribeCluster response.
    pub struct DescribeClusterResponse: response(DESCRIBE_CLUSTER), versions "0-2", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The broker's explanation of the error, if any.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// Whose endpoints the list holds: 1 brokers, 2 controllers.
        endpoint_type: i8 = "EndpointType" "int8" "1+" default 1,
        /// The cluster id.
        cluster_id: String = "ClusterId" "string" "0+",
        /// The active controller's node id as this broker knows it; -1 when unknown (KRaft brokers report a random broker, the request is then forwarded).
        controller_id: i32 = "ControllerId" "int32" "0+" default -1,
        /// The nodes.
        brokers: Vec<DescribeClusterBroker> = "Brokers" "[]DescribeClusterBroker" "0+",
        /// A bit set of the operations the caller may do on the cluster; `i32::MIN` when not asked for.
        cluster_authorized_operations: i32 = "ClusterAuthorizedOperations" "int32" "0+" default i32::MIN,
    }
}

structure! {
    /// One element of the `brokers` array.
    pub struct DescribeClusterBroker {
        /// The node id.
        broker_id: i32 = "BrokerId" "int32" "0+",
        /// Its host name.
        host: String = "Host" "string" "0+",
        /// Its port.
        port: i32 = "Port" "int32" "0+",
        /// Its rack, if it has one.
        rack: Option<String> = "Rack" "string" "0+" nullable "0+",
        /// Whether the controller has fenced it.
        is_fenced: bool = "IsFenced" "bool" "2+",
    }
}
