"""Which input changes force the provider to replace a resource rather than update it.

A real preview asks the provider; a diff of two plans (osp.platform.diff) has no provider to
ask, so it reads this table. It is the one place osp keeps that knowledge. Each entry comes
from the AWS provider's schema (the Terraform AWS provider Pulumi bridges: an argument marked
`ForceNew`, documented "Forces new resource") and agrees with CloudFormation's reference for
the same property ("Update requires: Replacement"); the comment above each entry names the
resource in both. Paths are input paths in the plan's camelCase (`encryptionConfig`,
`vpcConfig.subnetIds`): a change at the path or anywhere under it forces the replacement.

Beyond the table, a resource's physical name is its identity (`NAME_PROPERTIES`): renaming an
AWS resource creates a new one under the new name and deletes the old, and a Kubernetes object
is addressed by its namespace and name.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Names that are a resource's physical identity, whatever its type. AWS: every resource with a
#: `name` (`namePrefix`) argument in the Terraform AWS provider takes it ForceNew (IAM roles,
#: security groups, log groups, queues, topics, target groups, subnet groups, KMS aliases …);
#: CloudFormation documents each such name property as "Update requires: Replacement".
#: Kubernetes: an object is `namespace/name`; Pulumi replaces it when either changes.
NAME_PROPERTIES: tuple[str, ...] = (
    "name",
    "namePrefix",
    "metadata.name",
    "metadata.namespace",
)

#: Type token → the input paths whose change replaces the resource (besides NAME_PROPERTIES).
FORCES_REPLACEMENT: dict[str, tuple[str, ...]] = {
    # aws_db_instance (ForceNew: identifier, identifier_prefix, engine… see below);
    # AWS::RDS::DBInstance: DBInstanceIdentifier, KmsKeyId, StorageEncrypted, MasterUsername,
    # DBName, AvailabilityZone (single-AZ), CharacterSetName, Timezone, DBSnapshotIdentifier
    # "Update requires: Replacement".
    "aws:rds/instance:Instance": (
        "identifier",
        "identifierPrefix",
        "kmsKeyId",
        "storageEncrypted",
        "username",
        "dbName",
        "availabilityZone",
        "characterSetName",
        "ncharCharacterSetName",
        "timezone",
        "snapshotIdentifier",
        "restoreToPointInTime",
        "s3Import",
        "customIamInstanceProfile",
        "engine",
    ),
    # aws_rds_cluster; AWS::RDS::DBCluster: DBClusterIdentifier, KmsKeyId, StorageEncrypted,
    # MasterUsername, DatabaseName, DBSubnetGroupName, AvailabilityZones, Engine,
    # SnapshotIdentifier, SourceDBClusterIdentifier "Update requires: Replacement".
    "aws:rds/cluster:Cluster": (
        "clusterIdentifier",
        "clusterIdentifierPrefix",
        "kmsKeyId",
        "storageEncrypted",
        "masterUsername",
        "databaseName",
        "dbSubnetGroupName",
        "availabilityZones",
        "engine",
        "engineMode",
        "snapshotIdentifier",
        "restoreToPointInTime",
        "s3Import",
        "globalClusterIdentifier",
    ),
    # aws_rds_cluster_instance; AWS::RDS::DBInstance in a cluster: DBInstanceIdentifier,
    # DBClusterIdentifier, Engine "Update requires: Replacement".
    "aws:rds/clusterInstance:ClusterInstance": (
        "identifier",
        "identifierPrefix",
        "clusterIdentifier",
        "engine",
        "availabilityZone",
    ),
    # aws_db_subnet_group: name (ForceNew); AWS::RDS::DBSubnetGroup: DBSubnetGroupName.
    "aws:rds/subnetGroup:SubnetGroup": (),
    # aws_db_parameter_group: name, family, description (ForceNew);
    # AWS::RDS::DBParameterGroup: DBParameterGroupName, Family, Description.
    "aws:rds/parameterGroup:ParameterGroup": ("family", "description"),
    # aws_rds_cluster_parameter_group: name, family, description (ForceNew);
    # AWS::RDS::DBClusterParameterGroup: the same three.
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ("family", "description"),
    # aws_elasticache_replication_group: replication_group_id, at_rest_encryption_enabled,
    # kms_key_id, subnet_group_name, port, preferred_cache_cluster_azs, snapshot_arns,
    # snapshot_name (ForceNew); AWS::ElastiCache::ReplicationGroup: ReplicationGroupId,
    # AtRestEncryptionEnabled, KmsKeyId, CacheSubnetGroupName, Port, SnapshotArns.
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "replicationGroupId",
        "atRestEncryptionEnabled",
        "kmsKeyId",
        "subnetGroupName",
        "port",
        "preferredCacheClusterAzs",
        "snapshotArns",
        "snapshotName",
        "networkType",
    ),
    # aws_elasticache_cluster: cluster_id, engine, port, subnet_group_name, availability_zone,
    # snapshot_arns (ForceNew); AWS::ElastiCache::CacheCluster: ClusterName, Engine, Port,
    # CacheSubnetGroupName, PreferredAvailabilityZone.
    "aws:elasticache/cluster:Cluster": (
        "clusterId",
        "engine",
        "port",
        "subnetGroupName",
        "availabilityZone",
        "snapshotArns",
        "snapshotName",
    ),
    # aws_elasticache_serverless_cache: name, engine, kms_key_id, subnet_ids (ForceNew);
    # AWS::ElastiCache::ServerlessCache: ServerlessCacheName, Engine, KmsKeyId, SubnetIds.
    "aws:elasticache/serverlessCache:ServerlessCache": ("engine", "kmsKeyId", "subnetIds"),
    # aws_elasticache_subnet_group: name (ForceNew); AWS::ElastiCache::SubnetGroup:
    # CacheSubnetGroupName.
    "aws:elasticache/subnetGroup:SubnetGroup": (),
    # aws_mq_broker: broker_name, deployment_mode, engine_type, encryption_options,
    # publicly_accessible, storage_type, subnet_ids, authentication_strategy (ForceNew);
    # AWS::AmazonMQ::Broker: BrokerName, DeploymentMode, EngineType, EncryptionOptions,
    # PubliclyAccessible, StorageType, SubnetIds "Update requires: Replacement".
    "aws:mq/broker:Broker": (
        "brokerName",
        "deploymentMode",
        "engineType",
        "encryptionOptions",
        "publiclyAccessible",
        "storageType",
        "subnetIds",
        "authenticationStrategy",
    ),
    # aws_s3_bucket: bucket, bucket_prefix, object_lock_enabled (ForceNew);
    # AWS::S3::Bucket: BucketName, ObjectLockEnabled.
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:s3/bucketV2:BucketV2": ("bucket", "bucketPrefix", "objectLockEnabled"),
    # aws_dynamodb_table: name, hash_key, range_key, local_secondary_index (ForceNew);
    # AWS::DynamoDB::Table: TableName, KeySchema, LocalSecondaryIndexes.
    "aws:dynamodb/table:Table": ("hashKey", "rangeKey", "localSecondaryIndexes"),
    # aws_eks_cluster: name, role_arn, encryption_config, bootstrap_self_managed_addons,
    # kubernetes_network_config (service_ipv4_cidr, ip_family),
    # access_config.bootstrap_cluster_creator_admin_permissions,
    # outpost_config (ForceNew); AWS::EKS::Cluster: Name, RoleArn, EncryptionConfig,
    # KubernetesNetworkConfig, BootstrapSelfManagedAddons "Update requires: Replacement".
    "aws:eks/cluster:Cluster": (
        "roleArn",
        "encryptionConfig",
        "bootstrapSelfManagedAddons",
        "kubernetesNetworkConfig.serviceIpv4Cidr",
        "kubernetesNetworkConfig.ipFamily",
        "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "outpostConfig",
    ),
    # aws_eks_node_group: node_group_name, cluster_name, node_role_arn, subnet_ids,
    # instance_types, capacity_type, disk_size, ami_type (ForceNew);
    # AWS::EKS::Nodegroup: the same "Update requires: Replacement".
    "aws:eks/nodeGroup:NodeGroup": (
        "nodeGroupName",
        "clusterName",
        "nodeRoleArn",
        "subnetIds",
        "instanceTypes",
        "capacityType",
        "diskSize",
        "amiType",
    ),
    # aws_kms_key: customer_master_key_spec, key_spec, key_usage, multi_region,
    # custom_key_store_id, xks_key_id (ForceNew); AWS::KMS::Key: KeySpec, KeyUsage (a change
    # "Update requires: Replacement"), MultiRegion.
    "aws:kms/key:Key": (
        "customerMasterKeySpec",
        "keySpec",
        "keyUsage",
        "multiRegion",
        "customKeyStoreId",
        "xksKeyId",
    ),
    # aws_kms_replica_key: primary_key_arn (ForceNew); AWS::KMS::ReplicaKey: PrimaryKeyArn.
    "aws:kms/replicaKey:ReplicaKey": ("primaryKeyArn",),
    # aws_secretsmanager_secret: name, name_prefix (ForceNew); AWS::SecretsManager::Secret:
    # Name.
    "aws:secretsmanager/secret:Secret": (),
    # aws_ecr_repository: name (ForceNew), encryption_configuration (ForceNew);
    # AWS::ECR::Repository: RepositoryName, EncryptionConfiguration.
    "aws:ecr/repository:Repository": ("encryptionConfigurations",),
    # aws_route53_zone: name (ForceNew), delegation_set_id (ForceNew); AWS::Route53::HostedZone:
    # Name, HostedZoneConfig… replacement on Name.
    "aws:route53/zone:Zone": ("delegationSetId",),
    # aws_security_group: name, name_prefix, vpc_id, description (ForceNew);
    # AWS::EC2::SecurityGroup: GroupName, GroupDescription, VpcId.
    "aws:ec2/securityGroup:SecurityGroup": ("vpcId", "description"),
    # aws_subnet: vpc_id, cidr_block, availability_zone (ForceNew); AWS::EC2::Subnet: the same.
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"),
    # aws_vpc: cidr_block, instance_tenancy (dedicated → default only) (ForceNew);
    # AWS::EC2::VPC: CidrBlock.
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
}


def _under(path: str, forcing: str) -> bool:
    return path == forcing or path.startswith((forcing + ".", forcing + "["))


def forces_replacement(type_token: str, path: str) -> bool:
    """Whether a change at input `path` (`kmsKeyId`, `tags.Name`, `encryptionConfig.provider`)
    of a resource of `type_token` replaces the resource."""
    forcing = (*NAME_PROPERTIES, *FORCES_REPLACEMENT.get(type_token, ()))
    return any(_under(path, f) for f in forcing)


def replacing(type_token: str, paths: Iterable[str]) -> tuple[str, ...]:
    """The paths among `paths` that force a replacement, in their order."""
    return tuple(p for p in paths if forces_replacement(type_token, p))
