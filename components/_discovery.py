"""The tag Karpenter finds a cluster's node subnets and security group by.

The network tags its private subnets and the cluster its node security group with
`karpenter.sh/discovery: <cluster name>`; the Karpenter component's EC2NodeClass selects
exactly those. One constant, so the three cannot drift apart.
"""

DISCOVERY_TAG = "karpenter.sh/discovery"
