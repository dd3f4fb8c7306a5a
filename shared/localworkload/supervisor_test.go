package localworkload

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// fakeEC2 answers DescribeInstances from a map, one instance per page.
type fakeEC2 struct {
	mu        sync.Mutex
	instances map[string]ec2types.Instance
	err       error
	calls     int
}

func (f *fakeEC2) set(id string, state ec2types.InstanceStateName, tags []ec2types.Tag) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.instances == nil {
		f.instances = map[string]ec2types.Instance{}
	}
	f.instances[id] = ec2types.Instance{InstanceId: aws.String(id), State: &ec2types.InstanceState{Name: state}, Tags: tags}
}

func (f *fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	ids := slices.Sorted(maps.Keys(f.instances))
	i := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		i = slices.Index(ids, tok)
	}
	out := &ec2.DescribeInstancesOutput{}
	if i >= 0 && i < len(ids) {
		out.Reservations = []ec2types.Reservation{{Instances: []ec2types.Instance{f.instances[ids[i]]}}}
		if i+1 < len(ids) {
			out.NextToken = aws.String(ids[i+1])
		}
	}
	return out, nil
}

// runSupervisor runs s until the test ends; stop ends it earlier and
// waits for Run to return.
func runSupervisor(t *testing.T, s *Supervisor) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Run did not return 5 s after its context ended")
			}
		})
	}
	t.Cleanup(stop)

	return stop
}

// eventually polls cond every 10 ms for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func kinds(events []Event, id string) []EventKind {
	var out []EventKind
	for _, e := range events {
		if e.InstanceID == id {
			out = append(out, e.Kind)
		}
	}
	return out
}

func TestSupervisorReconciles(t *testing.T) {
	api := &fakeEC2{}
	a, b := testSpec(t, 1), testSpec(t, 1)
	api.set("i-a", ec2types.InstanceStateNamePending, a.Tags())
	api.set("i-b", ec2types.InstanceStateNameRunning, b.Tags())
	api.set("i-plain", ec2types.InstanceStateNameRunning, []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("no stand-in")}})
	api.set("i-bad", ec2types.InstanceStateNameRunning, append(b.Tags(), ec2types.Tag{Key: aws.String(HealthTag), Value: aws.String("sick")}))

	var mu sync.Mutex
	var live []string
	s := NewSupervisor(api, Config{PollInterval: 20 * time.Millisecond, Logger: testLogger(t), OnEvent: func(e Event) {
		mu.Lock()
		live = append(live, e.String())
		mu.Unlock()
	}})
	stop := runSupervisor(t, s)

	aAddr, bAddr := a.addrs()[0], b.addrs()[0]
	eventually(t, "i-b listens", func() bool { return listening(bAddr) })
	if listening(aAddr) {
		t.Error("the stand-in of a pending instance listens")
	}
	running := s.Running()
	if len(running) != 1 || running["i-b"].State != AppListening || running["i-b"].Addrs[0] != bAddr {
		t.Errorf("Running = %+v, want i-b listening on %s", running, bAddr)
	}
	if k := kinds(s.Events(), "i-bad"); !slices.Equal(k, []EventKind{EventFailed}) {
		t.Errorf("events of i-bad %v, want one failed (reported once)", k)
	}

	t.Log("pending → running; running → stopping")
	api.set("i-a", ec2types.InstanceStateNameRunning, a.Tags())
	api.set("i-b", ec2types.InstanceStateNameStopping, b.Tags())
	eventually(t, "i-a listens and i-b does not", func() bool { return listening(aAddr) && !listening(bAddr) })
	if k := kinds(s.Events(), "i-b"); !slices.Equal(k, []EventKind{EventStarting, EventListening, EventStopped}) {
		t.Errorf("events of i-b %v", k)
	}

	t.Log("tags changed: the stand-in restarts on the new port")
	moved := testSpec(t, 1)
	api.set("i-a", ec2types.InstanceStateNameRunning, moved.Tags())
	eventually(t, "i-a moved", func() bool { return listening(moved.addrs()[0]) && !listening(aAddr) })

	t.Log("DescribeInstances fails: nothing changes")
	api.mu.Lock()
	api.err = errors.New("boom")
	calls := api.calls
	api.mu.Unlock()
	eventually(t, "two failed polls", func() bool { api.mu.Lock(); defer api.mu.Unlock(); return api.calls >= calls+2 })
	if !listening(moved.addrs()[0]) {
		t.Error("a failed DescribeInstances stopped a stand-in")
	}
	api.mu.Lock()
	api.err = nil
	delete(api.instances, "i-a")
	api.mu.Unlock()
	eventually(t, "the stand-in of a gone instance stops", func() bool { return !listening(moved.addrs()[0]) })

	api.set("i-b", ec2types.InstanceStateNameRunning, b.Tags())
	eventually(t, "i-b listens again", func() bool { return listening(bAddr) })
	stop()
	if listening(bAddr) || len(s.Running()) != 0 {
		t.Errorf("after Run returned: listening %v, Running %v", listening(bAddr), s.Running())
	}

	var reasons []string
	for _, e := range s.Events() {
		if e.Kind == EventStopped {
			reasons = append(reasons, e.InstanceID+":"+e.Reason)
		}
	}
	want := []string{"i-b:stopping", "i-a:" + ReasonTagsChanged, "i-a:" + ReasonGone, "i-b:" + ReasonShutdown}
	if !slices.Equal(reasons, want) {
		t.Errorf("stop reasons %v, want %v", reasons, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(live) != len(s.Events()) || !strings.Contains(live[0], " i-") {
		t.Errorf("OnEvent saw %d events, the log holds %d: %q", len(live), len(s.Events()), live)
	}
}

func TestSupervisorRunOnce(t *testing.T) {
	s := NewSupervisor(&fakeEC2{}, Config{PollInterval: 10 * time.Millisecond})
	runSupervisor(t, s)
	eventually(t, "running", s.active.Load)
	if err := s.Run(context.Background()); err == nil {
		t.Error("a second Run did not fail")
	}
}

func TestSupervisorEventLogIsBounded(t *testing.T) {
	s := NewSupervisor(&fakeEC2{}, Config{MaxEvents: 3})
	for i := range 5 {
		s.record(Event{InstanceID: "i-" + string(rune('a'+i)), Kind: EventStarting})
	}
	var ids []string
	for _, e := range s.Events() {
		ids = append(ids, e.InstanceID)
	}
	if !slices.Equal(ids, []string{"i-c", "i-d", "i-e"}) {
		t.Errorf("events %v, want the last 3", ids)
	}
}

// TestSupervisorLeavesNoGoroutine: once Run has returned, the goroutines
// of the supervisor and its apps (servers, connections) are gone.
func TestSupervisorLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	api := &fakeEC2{}
	spec := testSpec(t, 2)
	api.set("i-a", ec2types.InstanceStateNameRunning, spec.Tags())
	s := NewSupervisor(api, Config{PollInterval: 10 * time.Millisecond})
	stop := runSupervisor(t, s)
	eventually(t, "listening", func() bool { return listening(spec.addrs()[1]) })

	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	for _, addr := range spec.addrs() {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close() // the connection stays open, idle
	}
	stop()
	tr.CloseIdleConnections()
	eventually(t, "goroutines back to where they were", func() bool { return runtime.NumGoroutine() <= before })
}
