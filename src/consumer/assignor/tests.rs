use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use kafkar_protocol::messages::consumer_protocol::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kafkar_protocol::messages::join_group::JoinGroupResponseMember;
use proptest::prelude::*;

use super::sticky::{MemberData, assign_sticky, decode_sticky_user_data, encode_sticky_user_data};
use super::*;

fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

fn topics(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn sub(names: &[&str]) -> Subscription {
    Subscription { topics: topics(names), ..Default::default() }
}

fn counts(list: &[(&str, i32)]) -> PartitionsPerTopic {
    list.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect()
}

fn parts(a: &GroupAssignment, member: &str) -> Vec<TopicPartition> {
    a.get(member).map(|x| x.partitions.clone()).unwrap_or_default()
}

/// Every partition of every subscribed topic with metadata is assigned exactly once, and only to a subscriber.
fn check_valid(ppt: &PartitionsPerTopic, subs: &BTreeMap<String, Subscription>, a: &GroupAssignment, complete: bool) {
    let mut seen = BTreeSet::new();
    for (m, asg) in a {
        let s = subs.get(m).unwrap_or_else(|| panic!("assignment for unknown member {m}"));
        for p in &asg.partitions {
            assert!(s.topics.contains(&p.topic), "{p} assigned to {m}, which does not subscribe to it");
            assert!(p.partition >= 0 && p.partition < ppt[&p.topic], "{p} does not exist");
            assert!(seen.insert(p.clone()), "{p} assigned twice");
        }
    }
    if complete {
        for (t, &n) in ppt {
            if subs.values().any(|s| s.topics.contains(t)) {
                for p in 0..n {
                    assert!(seen.contains(&tp(t, p)), "{t}-{p} not assigned");
                }
            }
        }
    }
    for m in subs.keys() {
        assert!(a.contains_key(m), "member {m} has no entry");
    }
}

fn spread(a: &GroupAssignment) -> usize {
    let sizes: Vec<usize> = a.values().map(|x| x.partitions.len()).collect();
    sizes.iter().max().unwrap_or(&0) - sizes.iter().min().unwrap_or(&0)
}

#[test]
fn range_java_doc_example() {
    let ppt = counts(&[("t0", 3), ("t1", 3)]);
    let subs: BTreeMap<String, Subscription> =
        [("C0".to_owned(), sub(&["t0", "t1"])), ("C1".to_owned(), sub(&["t0", "t1"]))].into();
    let a = RangeAssignor.assign(&ppt, &subs).unwrap();
    assert_eq!(parts(&a, "C0"), vec![tp("t0", 0), tp("t0", 1), tp("t1", 0), tp("t1", 1)]);
    assert_eq!(parts(&a, "C1"), vec![tp("t0", 2), tp("t1", 2)]);
}

#[test]
fn range_uneven_and_partial_subscriptions() {
    // t0 has 7 partitions over 3 members: 3, 2, 2. t1 (2 partitions) only C2 subscribes to. t2 has no metadata.
    let ppt = counts(&[("t0", 7), ("t1", 2)]);
    let subs: BTreeMap<String, Subscription> =
        [("C0".to_owned(), sub(&["t0"])), ("C1".to_owned(), sub(&["t0", "t2"])), ("C2".to_owned(), sub(&["t0", "t1"]))]
            .into();
    let a = RangeAssignor.assign(&ppt, &subs).unwrap();
    assert_eq!(parts(&a, "C0"), vec![tp("t0", 0), tp("t0", 1), tp("t0", 2)]);
    assert_eq!(parts(&a, "C1"), vec![tp("t0", 3), tp("t0", 4)]);
    assert_eq!(parts(&a, "C2"), vec![tp("t0", 5), tp("t0", 6), tp("t1", 0), tp("t1", 1)]);
}

#[test]
fn range_orders_static_members_first_by_instance_id() {
    let ppt = counts(&[("t", 3)]);
    let mut s_b = sub(&["t"]);
    s_b.group_instance_id = Some("b".into());
    let mut s_a = sub(&["t"]);
    s_a.group_instance_id = Some("a".into());
    // Member ids sort the other way round; a dynamic member with the smallest id still comes last.
    let subs: BTreeMap<String, Subscription> =
        [("m1".to_owned(), s_b), ("m2".to_owned(), s_a), ("m0".to_owned(), sub(&["t"]))].into();
    let a = RangeAssignor.assign(&ppt, &subs).unwrap();
    assert_eq!(parts(&a, "m2"), vec![tp("t", 0)]);
    assert_eq!(parts(&a, "m1"), vec![tp("t", 1)]);
    assert_eq!(parts(&a, "m0"), vec![tp("t", 2)]);
}

#[test]
fn roundrobin_java_doc_examples() {
    let ppt = counts(&[("t0", 3), ("t1", 3)]);
    let subs: BTreeMap<String, Subscription> =
        [("C0".to_owned(), sub(&["t0", "t1"])), ("C1".to_owned(), sub(&["t0", "t1"]))].into();
    let a = RoundRobinAssignor.assign(&ppt, &subs).unwrap();
    assert_eq!(parts(&a, "C0"), vec![tp("t0", 0), tp("t0", 2), tp("t1", 1)]);
    assert_eq!(parts(&a, "C1"), vec![tp("t0", 1), tp("t1", 0), tp("t1", 2)]);

    // Unequal subscriptions: t0 (1 partition), t1 (2), t2 (3); C0 ⊂ C1 ⊂ C2.
    let ppt = counts(&[("t0", 1), ("t1", 2), ("t2", 3)]);
    let subs: BTreeMap<String, Subscription> = [
        ("C0".to_owned(), sub(&["t0"])),
        ("C1".to_owned(), sub(&["t0", "t1"])),
        ("C2".to_owned(), sub(&["t0", "t1", "t2"])),
    ]
    .into();
    let a = RoundRobinAssignor.assign(&ppt, &subs).unwrap();
    assert_eq!(parts(&a, "C0"), vec![tp("t0", 0)]);
    assert_eq!(parts(&a, "C1"), vec![tp("t1", 0)]);
    assert_eq!(parts(&a, "C2"), vec![tp("t1", 1), tp("t2", 0), tp("t2", 1), tp("t2", 2)]);
}

#[test]
fn sticky_kip54_example_then_member_leaves() {
    let ppt = counts(&[("t0", 2), ("t1", 2), ("t2", 2), ("t3", 2)]);
    let all = ["t0", "t1", "t2", "t3"];
    let subs: BTreeMap<String, Subscription> =
        ["C0", "C1", "C2"].iter().map(|m| ((*m).to_owned(), sub(&all))).collect();
    let a = StickyAssignor::default().assign(&ppt, &subs).unwrap();
    // The fresh assignment is the round-robin one, as in KIP-54.
    assert_eq!(parts(&a, "C0"), vec![tp("t0", 0), tp("t1", 1), tp("t3", 0)]);
    assert_eq!(parts(&a, "C1"), vec![tp("t0", 1), tp("t2", 0), tp("t3", 1)]);
    assert_eq!(parts(&a, "C2"), vec![tp("t1", 0), tp("t2", 1)]);

    // C1 leaves: C0 and C2 keep everything and share C1's three partitions.
    let mut remaining = BTreeMap::new();
    for m in ["C0", "C2"] {
        let mut assignor = StickyAssignor::default();
        assignor.on_assignment(&a[m], 1);
        let mut s = sub(&all);
        s.user_data = assignor.subscription_user_data(&topics(&all));
        remaining.insert(m.to_owned(), s);
    }
    let b = StickyAssignor::default().assign(&ppt, &remaining).unwrap();
    assert_eq!(parts(&b, "C0"), vec![tp("t0", 0), tp("t0", 1), tp("t1", 1), tp("t3", 0)]);
    assert_eq!(parts(&b, "C2"), vec![tp("t1", 0), tp("t2", 0), tp("t2", 1), tp("t3", 1)]);
}

#[test]
fn cooperative_sticky_moves_partitions_over_two_rebalances() {
    let ppt = counts(&[("t", 6)]);
    let owned = |ps: &[i32], generation: Option<i32>| Subscription {
        topics: topics(&["t"]),
        owned_partitions: ps.iter().map(|&p| tp("t", p)).collect(),
        generation_id: generation,
        ..Default::default()
    };
    let subs: BTreeMap<String, Subscription> = [
        ("C0".to_owned(), owned(&[0, 1, 2], Some(1))),
        ("C1".to_owned(), owned(&[3, 4, 5], Some(1))),
        ("C2".to_owned(), owned(&[], None)),
    ]
    .into();
    let a = CooperativeStickyAssignor::default().assign(&ppt, &subs).unwrap();
    validate_cooperative_assignment(&subs, &a).unwrap();
    assert_eq!(parts(&a, "C0"), vec![tp("t", 0), tp("t", 1)]);
    assert_eq!(parts(&a, "C1"), vec![tp("t", 3), tp("t", 4)]);
    assert_eq!(parts(&a, "C2"), vec![]);

    // After C0 and C1 revoked t-2 and t-5 and rejoined, the second rebalance hands them to C2.
    let subs: BTreeMap<String, Subscription> = [
        ("C0".to_owned(), owned(&[0, 1], Some(2))),
        ("C1".to_owned(), owned(&[3, 4], Some(2))),
        ("C2".to_owned(), owned(&[], Some(2))),
    ]
    .into();
    let b = CooperativeStickyAssignor::default().assign(&ppt, &subs).unwrap();
    assert_eq!(parts(&b, "C2"), vec![tp("t", 2), tp("t", 5)]);
    assert_eq!(spread(&b), 0);
}

#[test]
fn sticky_claims_highest_generation_wins_and_ties_void() {
    let ppt = counts(&[("t", 4)]);
    let subs: BTreeMap<String, Subscription> = ["A", "B"].iter().map(|m| ((*m).to_owned(), sub(&["t"]))).collect();
    let data: BTreeMap<String, MemberData> = [
        // A's claim on t-0 is older than B's.
        ("A".to_owned(), MemberData { owned: vec![tp("t", 0), tp("t", 1)], generation: Some(3) }),
        ("B".to_owned(), MemberData { owned: vec![tp("t", 0), tp("t", 2)], generation: Some(4) }),
    ]
    .into();
    let a = assign_sticky(&ppt, &subs, &data);
    assert!(a["B"].contains(&tp("t", 0)) && a["B"].contains(&tp("t", 2)));
    assert!(a["A"].contains(&tp("t", 1)));

    // Same generation: nobody keeps t-0 on the strength of the claim; it is still assigned once.
    let data: BTreeMap<String, MemberData> = [
        ("A".to_owned(), MemberData { owned: vec![tp("t", 0), tp("t", 1)], generation: Some(4) }),
        ("B".to_owned(), MemberData { owned: vec![tp("t", 0), tp("t", 2)], generation: Some(4) }),
    ]
    .into();
    let a = assign_sticky(&ppt, &subs, &data);
    assert!(a["A"].contains(&tp("t", 1)) && a["B"].contains(&tp("t", 2)));
    assert_eq!(a.values().map(Vec::len).sum::<usize>(), 4);
}

#[test]
fn sticky_user_data_layouts() {
    let ps = vec![tp("a", 1), tp("a", 0), tp("b", 3)];
    let with_gen = encode_sticky_user_data(&ps, Some(7)).unwrap();
    let d = decode_sticky_user_data(&with_gen).unwrap();
    assert_eq!(d.generation, Some(7));
    assert_eq!(d.owned, vec![tp("a", 0), tp("a", 1), tp("b", 3)]);
    // The older layout has no generation.
    let without = encode_sticky_user_data(&ps, None).unwrap();
    assert_eq!(decode_sticky_user_data(&without).unwrap().generation, None);
    assert_eq!(&without[..4], &[0, 0, 0, 2]);
    assert!(decode_sticky_user_data(&Bytes::from_static(&[0, 0, 0, 9, 1])).is_none());
}

#[test]
fn cooperative_user_data_is_the_generation() {
    let mut a = CooperativeStickyAssignor::default();
    assert_eq!(a.subscription_user_data(&BTreeSet::new()).unwrap(), Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]));
    a.on_assignment(&Assignment::default(), 5);
    assert_eq!(a.subscription_user_data(&BTreeSet::new()).unwrap(), Bytes::from_static(&[0, 0, 0, 5]));
}

#[test]
fn protocol_selection_and_config_names() {
    let defaults = default_assignors();
    assert_eq!(rebalance_protocol(&defaults).unwrap(), RebalanceProtocol::Eager);
    let coop = assignors_from_config("cooperative-sticky").unwrap();
    assert_eq!(rebalance_protocol(&coop).unwrap(), RebalanceProtocol::Cooperative);
    let java = assignors_from_config(
        "org.apache.kafka.clients.consumer.RoundRobinAssignor, org.apache.kafka.clients.consumer.StickyAssignor",
    )
    .unwrap();
    assert_eq!(java.iter().map(|a| a.name().to_owned()).collect::<Vec<_>>(), vec!["roundrobin", "sticky"]);
    assert!(assignors_from_config("range,nope").is_err());
    assert!(assignors_from_config(" , ").is_err());
    assert!(rebalance_protocol(&[]).is_err());
    assert!(rebalance_protocol(&assignors_from_config("range,range").unwrap()).is_err());
}

#[test]
fn join_group_protocols_carry_subscription_in_config_order() {
    let mut assignors = assignors_from_config("cooperative-sticky,range").unwrap();
    assignors[0].on_assignment(&Assignment::default(), 4);
    let owned = vec![tp("b", 1), tp("a", 0)];
    let protocols = join_group_protocols(&assignors, &topics(&["a", "b"]), &owned, 4, Some("rack-1")).unwrap();
    assert_eq!(protocols.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), vec!["cooperative-sticky", "range"]);
    let (s, v) = ConsumerProtocolSubscription::decode_versioned(protocols[0].metadata.clone()).unwrap();
    assert_eq!(v, CONSUMER_PROTOCOL_VERSION);
    assert_eq!(s.topics, vec!["a", "b"]);
    assert_eq!(s.generation_id, 4);
    assert_eq!(s.rack_id.as_deref(), Some("rack-1"));
    assert_eq!(from_wire_partitions(&s.owned_partitions), vec![tp("a", 0), tp("b", 1)]);
    assert_eq!(s.user_data, Some(Bytes::from_static(&[0, 0, 0, 4])));
    let (s, _) = ConsumerProtocolSubscription::decode_versioned(protocols[1].metadata.clone()).unwrap();
    assert_eq!(s.user_data, None);
}

fn member(
    id: &str,
    instance: Option<&str>,
    sub: &ConsumerProtocolSubscription,
    version: i16,
) -> JoinGroupResponseMember {
    JoinGroupResponseMember {
        member_id: id.into(),
        group_instance_id: instance.map(Into::into),
        metadata: sub.encode_versioned(version).unwrap().freeze(),
        unknown_tagged_fields: Vec::new(),
    }
}

#[test]
fn leader_assign_decodes_all_versions_and_encodes_per_member_version() {
    let s = ConsumerProtocolSubscription { topics: vec!["t".into(), "gone".into()], ..Default::default() };
    let mut newer = s.encode_versioned(3).unwrap().to_vec();
    // A member from the future: version 9 with extra trailing fields.
    newer[..2].copy_from_slice(&9i16.to_be_bytes());
    newer.extend_from_slice(&[1, 2, 3, 4]);
    let members = vec![
        member("m-a", None, &s, 0),
        JoinGroupResponseMember { member_id: "m-b".into(), metadata: Bytes::from(newer), ..Default::default() },
    ];
    let meta: BTreeMap<String, i32> = [("t".to_owned(), 4)].into();
    let out = leader_assign(&RangeAssignor, RebalanceProtocol::Eager, &members, &meta).unwrap();
    assert_eq!(out.group_subscription, topics(&["gone", "t"]));
    assert_eq!(out.metadata_snapshot, [("gone".to_owned(), None), ("t".to_owned(), Some(4))].into());
    assert_eq!(out.assignments.len(), 2);
    let a = &out.assignments[0];
    assert_eq!(a.member_id, "m-a");
    // m-a wrote version 0, so its assignment is written at version 0.
    assert_eq!(&a.assignment[..2], &[0, 0]);
    let (decoded, _) = ConsumerProtocolAssignment::decode_versioned(a.assignment.clone()).unwrap();
    assert_eq!(from_wire_partitions(&decoded.assigned_partitions), vec![tp("t", 0), tp("t", 1)]);
    assert_eq!(&out.assignments[1].assignment[..2], &[0, 3]);
    assert_eq!(decode_assignment(&out.assignments[1].assignment).unwrap().partitions, vec![tp("t", 2), tp("t", 3)]);
}

#[test]
fn leader_assign_rejects_garbage_and_cooperative_violations() {
    let garbage =
        JoinGroupResponseMember { member_id: "x".into(), metadata: Bytes::from_static(&[0]), ..Default::default() };
    let meta = |_: &str| Some(2);
    assert!(leader_assign(&RangeAssignor, RebalanceProtocol::Eager, &[garbage], &meta).is_err());

    // Range ignores ownership, so with owned partitions it moves t-1 from m2 to m1 directly: not cooperative.
    let owns = |ps: &[i32]| ConsumerProtocolSubscription {
        topics: vec!["t".into()],
        owned_partitions: to_wire_partitions(&ps.iter().map(|&p| tp("t", p)).collect::<Vec<_>>()),
        generation_id: 1,
        ..Default::default()
    };
    let members = vec![member("m1", None, &owns(&[0]), 3), member("m2", None, &owns(&[1]), 3)];
    let meta = |_: &str| Some(4);
    let err = leader_assign(&RangeAssignor, RebalanceProtocol::Cooperative, &members, &meta).unwrap_err();
    assert!(err.to_string().contains("without revoking"), "{err}");
    let ok = leader_assign(&CooperativeStickyAssignor::default(), RebalanceProtocol::Cooperative, &members, &meta);
    assert!(ok.is_ok());
}

#[test]
fn empty_assignment_bytes_mean_nothing_assigned() {
    assert_eq!(decode_assignment(&Bytes::new()).unwrap(), Assignment::default());
    assert!(decode_assignment(&Bytes::from_static(&[0, 0, 0])).is_err());
}

#[test]
fn partition_counts_impls() {
    let m: HashMap<String, i32> = [("a".to_owned(), 3)].into();
    assert_eq!(m.partition_count("a"), Some(3));
    assert_eq!(m.partition_count("b"), None);
    let f = |t: &str| (t == "x").then_some(1);
    assert_eq!(f.partition_count("x"), Some(1));
}

// ---- property tests ----

/// A random group: topics t0..tN with partition counts (some without metadata) and members m0..mM subscribing to
/// random non-empty subsets (or all the same subset when `identical`).
fn group(identical: bool) -> impl Strategy<Value = (PartitionsPerTopic, BTreeMap<String, Subscription>)> {
    (1usize..5, 1usize..7).prop_flat_map(move |(n_topics, n_members)| {
        let counts = proptest::collection::vec(prop_oneof![1 => Just(None), 6 => (0i32..9).prop_map(Some)], n_topics);
        let masks = proptest::collection::vec(1u32..(1 << n_topics), n_members);
        (counts, masks).prop_map(move |(counts, masks)| {
            let ppt: PartitionsPerTopic =
                counts.iter().enumerate().filter_map(|(i, c)| c.map(|c| (format!("t{i}"), c))).collect();
            let subs = masks
                .iter()
                .enumerate()
                .map(|(i, &mask)| {
                    let mask = if identical { masks[0] } else { mask };
                    let t = (0..n_topics).filter(|b| mask & (1 << b) != 0).map(|b| format!("t{b}")).collect();
                    (format!("m{i}"), Subscription { topics: t, ..Default::default() })
                })
                .collect();
            (ppt, subs)
        })
    })
}

fn builtins() -> Vec<Box<dyn PartitionAssignor>> {
    assignors_from_config("range,roundrobin,sticky,cooperative-sticky").unwrap()
}

/// Feeds each member's previous assignment back as it would arrive at the leader in the next rebalance.
fn with_history(
    name: &str,
    subs: &BTreeMap<String, Subscription>,
    previous: &GroupAssignment,
    generation: i32,
) -> BTreeMap<String, Subscription> {
    subs.iter()
        .map(|(m, s)| {
            let mut s = s.clone();
            if let Some(a) = previous.get(m) {
                if name == StickyAssignor::NAME {
                    let mut assignor = StickyAssignor::default();
                    assignor.on_assignment(a, generation);
                    s.user_data = assignor.subscription_user_data(&s.topics);
                } else {
                    s.owned_partitions = a.partitions.clone();
                    s.generation_id = Some(generation);
                }
            }
            (m.clone(), s)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_partition_assigned_once_to_a_subscriber((ppt, subs) in group(false)) {
        for a in builtins() {
            let out = a.assign(&ppt, &subs).unwrap();
            check_valid(&ppt, &subs, &out, true);
        }
    }

    #[test]
    fn roundrobin_and_sticky_balance_identical_subscriptions((ppt, subs) in group(true)) {
        for a in builtins().iter().filter(|a| a.name() != RangeAssignor::NAME) {
            let out = a.assign(&ppt, &subs).unwrap();
            check_valid(&ppt, &subs, &out, true);
            prop_assert!(spread(&out) <= 1, "{} spread {} in {:?}", a.name(), spread(&out), out);
        }
    }

    #[test]
    fn sticky_keeps_partitions_when_a_member_leaves((ppt, subs) in group(true), leaver in 0usize..6) {
        for name in [StickyAssignor::NAME, CooperativeStickyAssignor::NAME] {
            let a = builtin_assignor(name).unwrap();
            let first = a.assign(&ppt, &subs).unwrap();
            let mut rest = with_history(name, &subs, &first, 1);
            let leaver = format!("m{}", leaver % subs.len());
            rest.remove(&leaver);
            if rest.is_empty() {
                continue;
            }
            let second = a.assign(&ppt, &rest).unwrap();
            check_valid(&ppt, &rest, &second, true);
            prop_assert!(spread(&second) <= 1);
            for m in rest.keys() {
                for p in &first[m].partitions {
                    prop_assert!(second[m].partitions.contains(p), "{name}: {m} lost {p}");
                }
            }
        }
    }

    #[test]
    fn sticky_leaves_no_improving_move((ppt, subs) in group(false)) {
        // Balance for different subscriptions: no partition can move to a subscriber holding two or more fewer.
        for name in [StickyAssignor::NAME, CooperativeStickyAssignor::NAME] {
            let out = builtin_assignor(name).unwrap().assign(&ppt, &subs).unwrap();
            for (m, a) in &out {
                for p in &a.partitions {
                    for (other, s) in &subs {
                        if s.topics.contains(&p.topic) {
                            prop_assert!(out[other].partitions.len() + 1 >= a.partitions.len(),
                                "{name}: {p} could move from {m} to {other}: {out:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn sticky_is_stable_on_its_own_output((ppt, subs) in group(false)) {
        for name in [StickyAssignor::NAME, CooperativeStickyAssignor::NAME] {
            let a = builtin_assignor(name).unwrap();
            let first = a.assign(&ppt, &subs).unwrap();
            let again = a.assign(&ppt, &with_history(name, &subs, &first, 1)).unwrap();
            prop_assert_eq!(&first, &again, "{} moved partitions without cause", name);
        }
    }

    #[test]
    fn cooperative_never_hands_over_in_one_rebalance((ppt, subs) in group(false), joiners in 1usize..3) {
        let a = CooperativeStickyAssignor::default();
        let first = a.assign(&ppt, &subs).unwrap();
        let mut next = with_history(CooperativeStickyAssignor::NAME, &subs, &first, 1);
        // New members join with everything the first member subscribes to.
        let topics = subs.values().next().map(|s| s.topics.clone()).unwrap_or_default();
        for j in 0..joiners {
            next.insert(format!("new{j}"), Subscription { topics: topics.clone(), ..Default::default() });
        }
        let second = a.assign(&ppt, &next).unwrap();
        check_valid(&ppt, &next, &second, false);
        validate_cooperative_assignment(&next, &second).unwrap();
        for (m, asg) in &second {
            for p in &asg.partitions {
                let owner = first.iter().find(|(_, x)| x.partitions.contains(p)).map(|(o, _)| o);
                prop_assert!(owner.is_none() || owner == Some(m), "{p} moved from {owner:?} to {m} in one round");
            }
        }
        // Once the revocations are done, the follow-up rebalance completes the assignment.
        let third = a.assign(&ppt, &with_history(CooperativeStickyAssignor::NAME, &next, &second, 2)).unwrap();
        check_valid(&ppt, &next, &third, true);
        validate_cooperative_assignment(&with_history(CooperativeStickyAssignor::NAME, &next, &second, 2), &third)
            .unwrap();
    }

    #[test]
    fn sticky_user_data_round_trips(
        ps in proptest::collection::btree_set(("[a-c]{1,3}", 0i32..50), 0..20),
        g in any::<i32>(),
    ) {
        let ps: Vec<TopicPartition> = ps.into_iter().map(|(t, p)| tp(&t, p)).collect();
        let d = decode_sticky_user_data(&encode_sticky_user_data(&ps, Some(g)).unwrap()).unwrap();
        prop_assert_eq!(d, MemberData { owned: ps, generation: Some(g) });
    }
}
