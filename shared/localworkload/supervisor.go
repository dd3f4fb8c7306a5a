package localworkload

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2 is the part of the EC2 client the supervisor reads instances with. It
// never changes anything.
type EC2 interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Defaults of Config.
const (
	DefaultPollInterval = 200 * time.Millisecond
	// DefaultMaxEvents bounds the event log; the oldest events go first.
	DefaultMaxEvents = 1000
	// describeTimeout bounds one DescribeInstances poll.
	describeTimeout = 5 * time.Second
)

// Config configures a Supervisor.
type Config struct {
	// PollInterval is the time between two DescribeInstances calls.
	// Default DefaultPollInterval (200 ms).
	PollInterval time.Duration
	// Logger receives the supervisor's and the apps' logs. Default:
	// discard.
	Logger *slog.Logger
	// OnEvent, when set, is called with every event as it is logged (a
	// demo prints them). It must not block or call the supervisor.
	OnEvent func(Event)
	// MaxEvents bounds Events. Default DefaultMaxEvents.
	MaxEvents int
}

// Supervisor keeps one stand-in App per running EC2 instance that has the
// AddressTag and PortsTag tags, following what DescribeInstances reports.
type Supervisor struct {
	api    EC2
	cfg    Config
	log    *slog.Logger
	active atomic.Bool

	mu      sync.Mutex
	apps    map[string]*App   // by instance ID
	invalid map[string]string // instance ID → the tag error already reported
	events  []Event
	// describeFailing is set while DescribeInstances fails, so the failure
	// is logged once, and the recovery too.
	describeFailing bool
}

// Workload is what Running reports of one stand-in.
type Workload struct {
	InstanceID string
	Spec       Spec
	// Addrs are the app's host:port addresses.
	Addrs []string
	// State is AppStarting (within the startup delay), AppListening or
	// AppFailed; Since is when it entered that state; Err is the listen
	// error of a failed app.
	State AppState
	Since time.Time
	Err   error
}

// NewSupervisor returns a supervisor that reads instances with api.
func NewSupervisor(api EC2, cfg Config) *Supervisor {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}

	return &Supervisor{api: api, cfg: cfg, log: cfg.Logger, apps: map[string]*App{}, invalid: map[string]string{}}
}

// Run polls DescribeInstances every PollInterval and reconciles: it starts
// the app of an instance that is running and has no app yet (the app listens
// after its startup delay), and stops, closing its listeners, the app of an
// instance that is no longer running (stopping, stopped, shutting-down,
// terminated, pending again, or gone), or whose tags changed (then starts it
// anew). A failed DescribeInstances changes nothing (it is logged). Run
// returns nil when ctx ends, after stopping every app: no listener and no
// goroutine is left. It returns an error at once when the supervisor is
// already running.
func (s *Supervisor) Run(ctx context.Context) error {
	if !s.active.CompareAndSwap(false, true) {
		return errors.New("local workload supervisor: Run is already running")
	}
	defer s.active.Store(false)
	defer s.stopAll()

	s.log.Info("local workload supervisor running", "pollInterval", s.cfg.PollInterval)
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		s.poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Running returns the stand-ins the supervisor keeps, by instance ID: those
// starting, listening, or failed to listen.
func (s *Supervisor) Running() map[string]Workload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Workload, len(s.apps))
	for id, a := range s.apps {
		st, since, err := a.State()
		out[id] = Workload{InstanceID: id, Spec: a.Spec(), Addrs: a.Addrs(), State: st, Since: since, Err: err}
	}

	return out
}

// Events returns a copy of the event log, oldest first.
func (s *Supervisor) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()

	return append([]Event(nil), s.events...)
}

// instance is what one poll saw of an instance.
type instance struct {
	state ec2types.InstanceStateName
	tags  map[string]string
}

func (s *Supervisor) poll(ctx context.Context) {
	dctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	seen, err := describeAll(dctx, s.api)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		first := !s.describeFailing
		s.describeFailing = true
		s.mu.Unlock()
		if first {
			s.log.Warn("describe instances (retrying every poll; the stand-ins stay as they are)", "error", err)
		}
		return
	}
	s.mu.Lock()
	if s.describeFailing {
		s.describeFailing = false
		s.log.Info("describe instances works again")
	}
	s.mu.Unlock()

	s.reconcile(seen)
}

// describeAll reads every instance, page by page.
func describeAll(ctx context.Context, api EC2) (map[string]instance, error) {
	out := map[string]instance{}
	in := &ec2.DescribeInstancesInput{}
	for {
		page, err := api.DescribeInstances(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				var st ec2types.InstanceStateName
				if inst.State != nil {
					st = inst.State.Name
				}
				out[aws.ToString(inst.InstanceId)] = instance{state: st, tags: tagMap(inst.Tags)}
			}
		}
		next := aws.ToString(page.NextToken)
		if next == "" || next == aws.ToString(in.NextToken) {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// reconcile makes the apps match what one poll saw.
func (s *Supervisor) reconcile(seen map[string]instance) {
	desired := map[string]Spec{}
	for id, inst := range seen {
		if inst.state != ec2types.InstanceStateNameRunning {
			continue
		}
		spec, err := SpecFromTags(inst.tags)
		if errors.Is(err, ErrNotStandIn) {
			continue
		}
		if err != nil {
			s.reportInvalid(id, err)
			continue
		}
		desired[id] = spec
	}

	s.mu.Lock()
	for id := range s.invalid {
		if _, valid := desired[id]; valid || seen[id].state != ec2types.InstanceStateNameRunning {
			delete(s.invalid, id) // reported again should its tags go bad again
		}
	}
	type stop struct {
		app    *App
		reason string
	}
	var stops []stop
	for id, a := range s.apps {
		spec, want := desired[id]
		switch {
		case want && spec.equal(a.Spec()):
			continue
		case want || seen[id].state == ec2types.InstanceStateNameRunning: // changed, removed or malformed
			stops = append(stops, stop{a, ReasonTagsChanged})
		case seen[id].state == "":
			stops = append(stops, stop{a, ReasonGone})
		default:
			stops = append(stops, stop{a, string(seen[id].state)})
		}
		delete(s.apps, id)
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	for _, st := range stops {
		wg.Go(func() {
			st.app.Stop()
			s.record(Event{InstanceID: st.app.InstanceID(), Kind: EventStopped, Addrs: st.app.Addrs(), Reason: st.reason})
		})
	}
	wg.Wait()

	for id, spec := range desired {
		s.mu.Lock()
		_, exists := s.apps[id]
		s.mu.Unlock()
		if exists {
			continue
		}
		s.start(id, spec)
	}
}

func (s *Supervisor) start(id string, spec Spec) {
	addrs := spec.addrs()
	e := Event{InstanceID: id, Kind: EventStarting, Addrs: addrs}
	if spec.StartupDelay > 0 {
		e.Reason = "listens in " + spec.StartupDelay.String()
	}
	s.record(e) // before the app can report listening
	s.log.Info("instance running: starting its stand-in", "instance", id, "addrs", addrs, "startupDelay", spec.StartupDelay)

	a, err := startApp(id, spec, s.log, func(kind EventKind, err error) {
		e := Event{InstanceID: id, Kind: kind, Addrs: addrs}
		if err != nil {
			e.Reason = err.Error()
		}
		s.record(e)
	})
	if err != nil { // not expected: SpecFromTags validated the spec
		s.reportInvalid(id, err)
		return
	}
	s.mu.Lock()
	s.apps[id] = a
	s.mu.Unlock()
}

// reportInvalid logs an instance's malformed tags once per error.
func (s *Supervisor) reportInvalid(id string, err error) {
	s.mu.Lock()
	known := s.invalid[id] == err.Error()
	s.invalid[id] = err.Error()
	s.mu.Unlock()
	if known {
		return
	}
	s.log.Warn("instance running with malformed stand-in tags: no stand-in", "instance", id, "error", err)
	s.record(Event{InstanceID: id, Kind: EventFailed, Reason: err.Error()})
}

// stopAll stops every app at once and waits for them.
func (s *Supervisor) stopAll() {
	s.mu.Lock()
	apps := maps.Clone(s.apps)
	clear(s.apps)
	s.mu.Unlock()

	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Go(func() {
			a.Stop()
			s.record(Event{InstanceID: a.InstanceID(), Kind: EventStopped, Addrs: a.Addrs(), Reason: ReasonShutdown})
		})
	}
	wg.Wait()
	s.log.Info("local workload supervisor stopped", "stopped", len(apps))
}

func (s *Supervisor) record(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.mu.Lock()
	s.events = append(s.events, e)
	if over := len(s.events) - s.cfg.MaxEvents; over > 0 {
		s.events = append(s.events[:0], s.events[over:]...)
	}
	s.mu.Unlock()
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}
