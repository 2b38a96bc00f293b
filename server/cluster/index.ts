export { CLUSTER_MIGRATIONS, type ClusterView, type HeldShard, type LeaseEvents, type LeaseOptions, LeaseLost, type MemberView, ShardLeases, fairShare } from './leases.ts';
export { ClusterNode, type ClusterNodeOptions, type ShardHooks } from './node.ts';
export { type MessageSink, ShardSubscriber, type ShardSubscriberOptions, shardClientId } from './shard-subscriber.ts';
export { ClusterViewSchema } from './api-schema.ts';
export { ShardWindows } from './windows.ts';
export { PeerClient } from './peers.ts';
export { type FleetBoardAccess, FleetLevels, fleetLevelsService } from './fleet-levels.ts';
