// Package rulestore keeps AutoStopping rules in the rules table (DynamoDB):
// one item per host, holding the rule, its state, a version bumped by every
// write, and what autostop created for it. Every state change is a
// conditional write, so of many writers racing for one change exactly one
// wins: a burst of first requests starts one wake.
//
// Items are written with encoding/json field names (attributevalue's TagKey
// "json"), so an item in the console reads like the rule document.
package rulestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autostop/autostop/shared/rule"
)

// The table's layout. shared/app describes the table with these names; the
// CDK stack and the local runner create it from that description.
const (
	// PartitionKey is the table's only key attribute: the rule's host,
	// normalized (rule.NormalizeHost).
	PartitionKey = "host"
	// EnvTableName names the environment variable holding the table's name.
	EnvTableName = "RULES_TABLE_NAME"
)

// State is where a rule is in its wake and sleep cycle.
type State string

// The states of a rule.
const (
	// Stopped: the instances are stopped (or not known to run); requests
	// reach the proxy, the first one wakes the rule.
	Stopped State = "stopped"
	// Starting: a wake is under way; requests reach the proxy, which shows
	// the progress page or holds them.
	Starting State = "starting"
	// Running: the host rule forwards to the instances.
	Running State = "running"
	// Stopping: the idle watcher is stopping the instances; the host rule
	// is gone, so requests reach the proxy again.
	Stopping State = "stopping"
	// Detaching: DetachRule is removing the rule; nothing wakes it any
	// more, and a wake in flight is superseded.
	Detaching State = "detaching"
)

// Phase is a step of a wake.
type Phase string

// The phases of a wake, in order.
const (
	PhaseStarting    Phase = "starting"     // starting the instances
	PhaseHealthCheck Phase = "health-check" // waiting for the load balancer's health check (and the grace period)
	PhaseSwitching   Phase = "switching"    // adding the host rule
)

// TimeFormat is how expressions write times: UTC with a fixed width, so
// that times compare as strings in conditions (RFC3339Nano drops trailing
// zeros). attributevalue reads it back as any RFC 3339 time.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Item is one rule in the table.
type Item struct {
	// Host is the key: the rule's host, normalized.
	Host string `json:"host"`
	// Rule is the rule as attached, with its defaults filled.
	Rule rule.Rule `json:"rule"`
	// LoadBalancer is the name of the rule's load balancer.
	LoadBalancer string `json:"loadBalancer"`
	// LoadBalancerARN, ListenerARN (the listener host rules go on),
	// TargetGroupARN (the rule's instance target group) and
	// ListenerRuleARN (the host rule, while it exists) name what traffic
	// goes through.
	LoadBalancerARN string `json:"loadBalancerArn"`
	ListenerARN     string `json:"listenerArn"`
	TargetGroupARN  string `json:"targetGroupArn"`
	ListenerRuleARN string `json:"listenerRuleArn,omitempty"`
	// State of the rule.
	State State `json:"state"`
	// Phase is how far the current wake has come (Starting only): the wake
	// workflow's steps write it, the progress page shows it.
	Phase Phase `json:"phase,omitempty"`
	// Version is bumped by every write; writes that must not overwrite a
	// change they did not see are conditional on it.
	Version int64 `json:"version"`
	// AttachedBy is the AttachRule execution that created the item.
	AttachedBy string `json:"attachedBy"`
	// WakeRequestedAt is when the current (or last) wake was requested.
	WakeRequestedAt time.Time `json:"wakeRequestedAt,omitempty"`
	// WakeExecution is the ARN of the wake's execution, its audit log.
	WakeExecution string `json:"wakeExecution,omitempty"`
	// ReadyAt is when traffic was last switched to the instances.
	ReadyAt time.Time `json:"readyAt,omitempty"`
	// LastError says why the last wake or sleep failed; cleared by the
	// next wake.
	LastError string `json:"lastError,omitempty"`
	// SleepRequestedAt identifies the current (or last) sleep: when the
	// idle watcher moved the rule to stopping.
	SleepRequestedAt time.Time `json:"sleepRequestedAt,omitempty"`
	// SleepReason says why: SleepIdle, SleepStoppedOutside,
	// SleepTerminatedOutside or SleepRequested.
	SleepReason SleepReason `json:"sleepReason,omitempty"`
	// SleepExecution is the ARN of the sleep's execution, its audit log.
	SleepExecution string `json:"sleepExecution,omitempty"`
	// StoppedAt is when the last sleep finished.
	StoppedAt time.Time `json:"stoppedAt,omitempty"`
	// WakeWanted is set by a request that reached a stopping rule: the
	// sleep wakes the rule again as soon as its instances are stopped.
	WakeWanted bool `json:"wakeWanted,omitempty"`
	// Broken says why the rule cannot be woken (an instance was
	// terminated outside autostop). Nothing wakes a broken rule; the
	// proxy shows the reason. Detach and attach the rule again to clear it.
	Broken string `json:"broken,omitempty"`
	// Holds are the leases of the requests held for this rule right now
	// (a string set, absent when empty). See AcquireHold.
	Holds []Lease `json:"holds,omitempty,stringset"`
}

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Store reads and writes the rules table.
type Store struct {
	db    DynamoDB
	table string
	now   func() time.Time
}

// New returns a store over the named table.
func New(db DynamoDB, table string) *Store {
	return &Store{db: db, table: table, now: time.Now}
}

// FromEnv returns a store over the table named by EnvTableName, through a
// DynamoDB client of cfg: how every function that reads or writes rules
// starts.
func FromEnv(cfg aws.Config) (*Store, error) {
	name := os.Getenv(EnvTableName)
	if name == "" {
		return nil, fmt.Errorf("%s is not set: the rules table's name is required", EnvTableName)
	}

	return New(dynamodb.NewFromConfig(cfg), name), nil
}

// ErrNotFound: no rule answers the host.
var ErrNotFound = errors.New("no AutoStopping rule for this host")

// Get returns the rule of a host. consistent asks for a strongly consistent
// read (twice the cost; needed right before a conditional write).
func (s *Store) Get(ctx context.Context, host string, consistent bool) (Item, error) {
	host = rule.NormalizeHost(host)
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(host), ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return Item{}, fmt.Errorf("get rule %s: %w", host, err)
	}
	if len(out.Item) == 0 {
		return Item{}, fmt.Errorf("get rule %s: %w", host, ErrNotFound)
	}

	return decode(out.Item)
}

func key(host string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{PartitionKey: &types.AttributeValueMemberS{Value: host}}
}

func decode(av map[string]types.AttributeValue) (Item, error) {
	var it Item
	if err := attributevalue.UnmarshalMapWithOptions(av, &it, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
		return Item{}, fmt.Errorf("decode rule item: %w", err)
	}

	return it, nil
}

func encode(it Item) (map[string]types.AttributeValue, error) {
	av, err := attributevalue.MarshalMapWithOptions(it, func(o *attributevalue.EncoderOptions) {
		o.TagKey = "json"
		o.OmitEmptyTime = true
	})
	if err != nil {
		return nil, fmt.Errorf("encode rule item %s: %w", it.Host, err)
	}

	return av, nil
}

// isConditionFailed reports a failed ConditionExpression.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
