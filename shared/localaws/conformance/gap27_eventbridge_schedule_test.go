package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 27: an ENABLED rule with a ScheduleExpression on the default bus
// invokes its targets on schedule with the Scheduled Event AWS sends; a
// DISABLED rule does not; a custom bus rejects schedule expressions. kumo
// runs schedules 60 times faster here (KUMO_EVENTBRIDGE_SCHEDULE_SCALE,
// patch 0020): rate(1 minute) fires every second.
//
//nolint:funlen,gocognit // one scenario, step by step
func TestGap27EventBridgeScheduledRuleFires(t *testing.T) {
	b := localawstest.StartWith(t, localaws.Options{KumoEnv: map[string]string{"KUMO_EVENTBRIDGE_SCHEDULE_SCALE": "60"}})
	ctx := t.Context()

	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	events := eventbridge.NewFromConfig(cfg)

	// A custom bus rejects a schedule expression.
	if _, err := events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("gap27-custom")}); err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	_, err = events.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String("gap27-custom"), EventBusName: aws.String("gap27-custom"), ScheduleExpression: aws.String("rate(1 minute)"),
	})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" {
		t.Errorf("PutRule with a ScheduleExpression on a custom bus: err %v, want ValidationException", err)
	}

	const (
		fn   = "gap27-tick"
		rule = "gap27-every-minute"
	)
	record := filepath.Join(t.TempDir(), "events.jsonl")
	bin := localawstest.BuildFunction(t, "./testdata/recordfn")
	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: fn, TimeoutSec: 10, MemoryMB: 128, Env: map[string]string{"RECORD_FILE": record}}, bin); err != nil {
		t.Fatalf("deploy %s: %v", fn, err)
	}

	put, err := events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), ScheduleExpression: aws.String("rate(1 minute)")})
	if err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	ruleARN := aws.ToString(put.RuleArn)
	fnARN := "arn:aws:lambda:" + localaws.DefaultRegion + ":" + localaws.AccountID + ":function:" + fn
	targets, err := events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), Targets: []ebtypes.Target{{Id: aws.String("tick"), Arn: aws.String(fnARN)}}})
	if err != nil || targets.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: err %v, failed entries %+v", err, targets)
	}
	start := time.Now()

	// It fires every (scaled) minute: 1 s.
	const want = 4
	var got []gap27Delivery
	for deadline := time.Now().Add(15 * time.Second); len(got) < want; time.Sleep(100 * time.Millisecond) {
		if got = gap27Read(t, record); len(got) >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d scheduled events of rule %s (rate(1 minute), scale 60) reached %s within 15 s, want %d, one a second", len(got), rule, fn, want)
		}
	}
	if first := got[0].At.Sub(start); first < 500*time.Millisecond || first > 3*time.Second {
		t.Errorf("first scheduled event %v after PutTargets, want about one scaled minute (1 s)", first)
	}
	ids := map[string]bool{}
	for i, d := range got[:want] {
		if i > 0 {
			if gap := d.At.Sub(got[i-1].At); gap < 500*time.Millisecond || gap > 2*time.Second {
				t.Errorf("event %d came %v after the previous one, want about 1 s", i, gap)
			}
		}
		var ev map[string]any
		if err := json.Unmarshal(d.Event, &ev); err != nil {
			t.Fatalf("event %s: %v", d.Event, err)
		}
		id, _ := ev["id"].(string)
		if id == "" || ids[id] {
			t.Errorf("event id %q: want a new id per event", id)
		}
		ids[id] = true
		if ts, _ := ev["time"].(string); ts == "" {
			t.Errorf("event has no time: %s", d.Event)
		} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("event time %q: %v", ts, err)
		}
		delete(ev, "id")
		delete(ev, "time")
		wantEv := map[string]any{
			"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": localaws.AccountID,
			"region": localaws.DefaultRegion, "resources": []any{ruleARN}, "detail": map[string]any{},
		}
		if !reflect.DeepEqual(ev, wantEv) {
			t.Errorf("scheduled event (without id, time) = %v, want %v", ev, wantEv)
		}
	}

	// DISABLED: it stops firing.
	if _, err := events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), ScheduleExpression: aws.String("rate(1 minute)"), State: ebtypes.RuleStateDisabled}); err != nil {
		t.Fatalf("PutRule DISABLED: %v", err)
	}
	time.Sleep(time.Second) // an invocation already sent may still land
	before := len(gap27Read(t, record))
	time.Sleep(3 * time.Second)
	if after := len(gap27Read(t, record)); after != before {
		t.Errorf("the DISABLED rule still fired: %d events in 3 s", after-before)
	}
}

type gap27Delivery struct {
	At    time.Time       `json:"at"`
	Event json.RawMessage `json:"event"`
}

func gap27Read(t *testing.T, path string) []gap27Delivery {
	t.Helper()

	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var out []gap27Delivery
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var d gap27Delivery
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			continue // a line being written
		}
		out = append(out, d)
	}

	return out
}
