package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Key prefixes of the state bucket that the lifecycle rules act on. The store
// (internal/store) writes deployment history under HistoryPrefix and rendered
// plans under PlansPrefix.
const (
	HistoryPrefix = "history/"
	PlansPrefix   = "plans/"
)

// The other key prefixes of the state bucket (internal/store): the function
// roles are granted object access under the ones each function uses.
const (
	StateIndexPrefix      = "index/"
	StateRejectionsPrefix = "rejections/"
	StateWatchesPrefix    = "watches/"
	StateLocksPrefix      = "locks/"
	StateQueuePrefix      = "queue/"
	StateApprovalsPrefix  = "approvals/"
)

// Storage holds the buckets: the spec bucket users upload services/ and
// environments/ to, the state bucket (locks, history, rendered plans, index)
// and the bucket both write their server access logs to.
type Storage struct {
	constructs.Construct
	// SpecBucket holds services/<name>.yaml and environments/<name>.yaml.
	SpecBucket awss3.Bucket
	// StateBucket holds locks, history, plans, the image index and task
	// tokens of waiting executions.
	StateBucket awss3.Bucket
	// AccessLogs receives the server access logs of the other two buckets:
	// who uploaded which spec is part of a deployment's audit trail.
	AccessLogs awss3.Bucket
}

// NewStorage creates the buckets. specBucketName may be empty to let
// CloudFormation name the spec bucket.
func NewStorage(scope constructs.Construct, id string, specBucketName string) *Storage {
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := &Storage{Construct: c}

	s.AccessLogs = awss3.NewBucket(c, jsii.String("AccessLogs"), &awss3.BucketProps{
		// Server access logging only delivers to SSE-S3 buckets.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("expire-access-logs"),
			Expiration:                  awscdk.Duration_Days(jsii.Number(365)),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
		}},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.AccessLogs, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("This is the access log bucket; logging it into itself would loop."),
	}}, jsii.Bool(false))

	specProps := bucketProps(s.AccessLogs, "spec/")
	if specBucketName != "" {
		specProps.BucketName = jsii.String(specBucketName)
	}
	specProps.LifecycleRules = &[]*awss3.LifecycleRule{{
		// Old spec versions are what a rollback or an audit reads; keep them a year.
		Id:                                  jsii.String("expire-old-spec-versions"),
		NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(365)),
		AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
	}}
	s.SpecBucket = awss3.NewBucket(c, jsii.String("SpecBucket"), specProps)
	enableEventBridge(s.SpecBucket)

	stateProps := bucketProps(s.AccessLogs, "state/")
	stateProps.LifecycleRules = &[]*awss3.LifecycleRule{
		{
			// Plans are only read while their deployment runs and by a
			// later rollback of it; a quarter is plenty.
			Id:         jsii.String("expire-plans"),
			Prefix:     jsii.String(PlansPrefix),
			Expiration: awscdk.Duration_Days(jsii.Number(90)),
		},
		{
			// History is read rarely after the first weeks.
			Id:     jsii.String("history-to-infrequent-access"),
			Prefix: jsii.String(HistoryPrefix),
			Transitions: &[]*awss3.Transition{{
				StorageClass:    awss3.StorageClass_INFREQUENT_ACCESS(),
				TransitionAfter: awscdk.Duration_Days(jsii.Number(90)),
			}},
		},
		{
			// Locks are created and deleted all the time; their old
			// versions and delete markers are noise.
			Id:                                  jsii.String("expire-noncurrent-versions"),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(30)),
			ExpiredObjectDeleteMarker:           jsii.Bool(true),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		},
	}
	s.StateBucket = awss3.NewBucket(c, jsii.String("StateBucket"), stateProps)
	return s
}

// bucketProps are the properties the spec and state buckets share.
func bucketProps(logs awss3.IBucket, logPrefix string) *awss3.BucketProps {
	return &awss3.BucketProps{
		Versioned:              jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String(logPrefix),
		// Specs and history outlive the stack: deleting the stack must not
		// delete them.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	}
}

// enableEventBridge turns on S3's EventBridge notifications through the
// bucket's own NotificationConfiguration. The L2 EventBridgeEnabled property
// would do the same through a custom resource with its own Lambda function
// and managed policy, which is more to deploy and to trust for one flag.
func enableEventBridge(b awss3.Bucket) {
	cfn := b.Node().DefaultChild().(awss3.CfnBucket)
	cfn.AddPropertyOverride(jsii.String("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled"), true)
}
