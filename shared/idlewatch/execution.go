package idlewatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

// SleepInput is the input of a SleepRule execution.
type SleepInput struct {
	// Host of the rule to put to sleep.
	Host string `json:"host"`
	// SleepRequestedAt identifies the sleep (rulestore.TimeFormat): the
	// rule's item carries it while this sleep is the current one.
	SleepRequestedAt string `json:"sleepRequestedAt"`
	// Reason of the sleep.
	Reason rulestore.SleepReason `json:"reason"`
}

// RepairInput is the input of a RepairTargets execution.
type RepairInput struct {
	// Host of the running rule.
	Host string `json:"host"`
	// InstanceIDs of the rule that are not registered with its target
	// group, sorted.
	InstanceIDs []string `json:"instanceIds"`
}

// MaxExecutionName is Step Functions' limit on an execution's name.
const MaxExecutionName = 80

// SleepExecutionName names a sleep's execution:
// "<rule>-<host hash>-sleep-<sleepRequestedAt, unix ms>". A sleep has one
// name, so starting it twice runs it once.
func SleepExecutionName(it rulestore.Item) string {
	return executionPrefix(it) + "-sleep-" + strconv.FormatInt(it.SleepRequestedAt.UnixMilli(), 10)
}

// RepairExecutionName names a rule's repair in the minute of now:
// "<rule>-<host hash>-repair-<unix minute>". Runs of the same minute (the
// local backend runs the watcher every second) start it once.
func RepairExecutionName(it rulestore.Item, now time.Time) string {
	return executionPrefix(it) + "-repair-" + strconv.FormatInt(now.Unix()/60, 10)
}

// executionPrefix is "<rule name, at most 50 characters>-<8 hex of the
// host's SHA-256>", as proxymanager.WakeExecutionName: the rule name
// (a DNS label) for people, the hash for uniqueness. Characters outside
// Step Functions' safe alphabet become "-".
func executionPrefix(it rulestore.Item) string {
	name := it.Rule.Name
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '-'
	}, name)
	sum := sha256.Sum256([]byte(it.Host))

	return name + "-" + hex.EncodeToString(sum[:4])
}

// started is a StartExecution's outcome.
type started struct {
	name, arn string
	// already: an execution of that name exists (the same work, started by
	// an earlier or concurrent run).
	already bool
}

// start starts an execution of the state machine; ExecutionAlreadyExists
// is success (already set).
func (w *Watcher) start(ctx context.Context, stateMachineARN, name string, input any) (started, error) {
	s := started{name: name}
	doc, err := json.Marshal(input)
	if err != nil {
		return s, fmt.Errorf("encode the input of %s: %w", name, err)
	}
	out, err := w.deps.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineARN),
		Name:            aws.String(name),
		Input:           aws.String(string(doc)),
	})
	if steperr.HasCode(err, "ExecutionAlreadyExists") {
		s.already = true
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("start execution %s of %s: %w", name, stateMachineARN, err)
	}
	s.arn = aws.ToString(out.ExecutionArn)

	return s, nil
}

// startSleep starts the SleepRule execution of the sleep the item is in.
func (w *Watcher) startSleep(ctx context.Context, it rulestore.Item) (started, error) {
	return w.start(ctx, w.cfg.SleepStateMachineARN, SleepExecutionName(it), SleepInput{
		Host:             it.Host,
		SleepRequestedAt: it.SleepRequestedAt.UTC().Format(rulestore.TimeFormat),
		Reason:           it.SleepReason,
	})
}
