// Package localaws runs the project's local AWS backend: the patched kumo
// emulator as a child process on a free loopback port, a recording,
// fault-injecting proxy in front of it, and the project's Lambda binaries as
// child processes that poll kumo's Lambda Runtime API, as they would in AWS.
//
// Everything it starts is stopped by Backend.Stop, when the context given to
// Start ends (wire SIGINT/SIGTERM to it with signal.NotifyContext), and, should
// the parent die without cleaning up, by the kernel (Pdeathsig): no orphans.
package localaws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/autostop/autostop/shared/awsproxy"
)

// Defaults of the local backend.
const (
	DefaultRegion = "us-east-1"
	// AccountID is the account kumo puts in every ARN.
	AccountID = "000000000000"
	// AccessKeyID and SecretAccessKey are dummy credentials: kumo does not
	// check signatures, but every SDK insists on having some.
	AccessKeyID     = "test"
	SecretAccessKey = "test"
)

// Options configures Start. The zero value is usable.
type Options struct {
	// Binary is the patched kumo executable. Default: FindKumo().
	Binary string
	// Region the backend pretends to be in. Default: DefaultRegion.
	Region string
	// Port for kumo on 127.0.0.1. Default: a free port.
	Port int
	// Output receives kumo's and the function processes' logs. Default: discarded.
	Output io.Writer
	// StartTimeout bounds the wait for kumo's /health. Default: 30 s.
	StartTimeout time.Duration
	// Logger reports lifecycle events. Default: discard.
	Logger *slog.Logger

	// EC2StartDelay is how long an EC2 instance stays "pending" after
	// RunInstances or StartInstances before it is "running"
	// (KUMO_EC2_START_DELAY, patch 0014). Default: 2 s, long enough to see
	// the transition and IncorrectInstanceState, short enough for tests
	// (AWS: seconds to a minute). Negative: 0, i.e. the call itself
	// answers "pending" and the next request sees "running".
	EC2StartDelay time.Duration
	// EC2StopDelay is how long an instance stays "stopping" after
	// StopInstances (and "shutting-down" after TerminateInstances)
	// (KUMO_EC2_STOP_DELAY, patch 0014). Default: 1 s. Negative: 0.
	EC2StopDelay time.Duration
	// HealthCheckInterval replaces every target group's
	// HealthCheckIntervalSeconds for the ELBv2 health checks of instance
	// targets (KUMO_ELBV2_HEALTH_CHECK_INTERVAL, patch 0015): AWS allows
	// 5 s at least, so a healthy threshold of 2 would take 10 s.
	// Thresholds still come from the target group. Default: 500 ms.
	// Negative: no override, the target groups' own intervals.
	HealthCheckInterval time.Duration
	// MaxFunctionProcesses bounds the processes the runner starts per
	// function (FunctionProcess.MaxProcesses overrides it): its local
	// concurrency, as Lambda's concurrency limit bounds its execution
	// environments. Default 10.
	MaxFunctionProcesses int
	// HealthCheckTimeout replaces every target group's
	// HealthCheckTimeoutSeconds (KUMO_ELBV2_HEALTH_CHECK_TIMEOUT, patch
	// 0015). Default: 400 ms, under the default interval. Negative: no
	// override.
	HealthCheckTimeout time.Duration
	// RealisticTiming makes kumo slow and eventually consistent where AWS
	// is (KUMO_REALISTIC_TIMING=1, read by the patches that add such
	// delays, each scaled to seconds): resources that are not ready or
	// not visible at once, changes that are PENDING before INSYNC. Off by
	// default; RealisticTimingFromEnv reads AUTOSTOP_REALISTIC_TIMING, the
	// one setting the tests, make up and make bench share.
	RealisticTiming bool
	// KumoEnv adds environment variables to kumo's process, after (and so
	// overriding) the ones the runner sets: settings without an option of
	// their own, e.g. KUMO_EVENTBRIDGE_SCHEDULE_SCALE=60 (patch 0020) to
	// fire rate(1 minute) rules every second. Default: none.
	KumoEnv map[string]string
}

// RealisticTimingEnv is the project's one switch for realistic timing
// (Options.RealisticTiming): "1" or "true" turns it on.
const RealisticTimingEnv = "AUTOSTOP_REALISTIC_TIMING"

// RealisticTimingKumoEnv is kumo's switch (the patches that add AWS's
// delays read it).
const RealisticTimingKumoEnv = "KUMO_REALISTIC_TIMING"

// RealisticTimingFromEnv reports whether AUTOSTOP_REALISTIC_TIMING asks
// for realistic timing.
func RealisticTimingFromEnv() bool {
	v, err := strconv.ParseBool(os.Getenv(RealisticTimingEnv))
	return err == nil && v
}

// Runner defaults of the timing options; see Options.
const (
	DefaultEC2StartDelay        = 2 * time.Second
	DefaultEC2StopDelay         = time.Second
	DefaultHealthCheckInterval  = 500 * time.Millisecond
	DefaultHealthCheckTimeout   = 400 * time.Millisecond
	DefaultMaxFunctionProcesses = 10
)

// Backend is a running local AWS backend.
type Backend struct {
	opts     Options
	port     int
	endpoint string
	proxy    *awsproxy.Proxy

	kumo     *exec.Cmd
	kumoDone chan struct{}

	mu        sync.Mutex
	functions []*process
	fnSpecs   map[string]FunctionProcess // by Runtime API name (<name>, <name>:<version>), for scaling out
	fnCount   map[string]int             // processes started, by Runtime API name
	stopped   bool
	stopOnce  sync.Once
	stopErr   error

	// Published versions' own code (StartVersion): the starts by
	// "<name>:<version>", the directory their bootstraps are extracted
	// to (created on first use, removed by Stop), the starts under way
	// (Stop waits for them) and a context Stop cancels.
	versions    map[string]*versionStart
	versionDir  string
	versionWork sync.WaitGroup
	stopCtx     context.Context
	cancelStop  context.CancelFunc
}

// Start launches kumo on a free loopback port and waits until it is healthy.
// When ctx ends, the backend stops.
func Start(ctx context.Context, opts Options) (*Backend, error) {
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Output == nil {
		opts.Output = io.Discard
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.EC2StartDelay = orDefault(opts.EC2StartDelay, DefaultEC2StartDelay)
	opts.EC2StopDelay = orDefault(opts.EC2StopDelay, DefaultEC2StopDelay)
	opts.HealthCheckInterval = orDefault(opts.HealthCheckInterval, DefaultHealthCheckInterval)
	opts.HealthCheckTimeout = orDefault(opts.HealthCheckTimeout, DefaultHealthCheckTimeout)
	if opts.MaxFunctionProcesses <= 0 {
		opts.MaxFunctionProcesses = DefaultMaxFunctionProcesses
	}
	if opts.Binary == "" {
		bin, err := FindKumo()
		if err != nil {
			return nil, err
		}
		opts.Binary = bin
	}

	port := opts.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}

	b := &Backend{
		opts: opts, port: port, endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), kumoDone: make(chan struct{}),
		fnSpecs: map[string]FunctionProcess{}, fnCount: map[string]int{}, versions: map[string]*versionStart{},
	}
	b.stopCtx, b.cancelStop = context.WithCancel(context.Background())

	var err error
	b.proxy, err = awsproxy.New(b.endpoint)
	if err != nil {
		return nil, err
	}
	b.proxy.OnAllBusy(b.scaleOut)
	// A version published through the proxy runs its own package, as on
	// AWS (StartVersion; nothing when it is the runner's code stub).
	b.proxy.OnPublished(b.versionPublished)
	b.proxy.BeforeInvoke(b.holdVersionInvoke)

	cmd := exec.Command(opts.Binary, "serve", "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Env = append(os.Environ(),
		"KUMO_HOST=127.0.0.1",
		"KUMO_PORT="+strconv.Itoa(port),
		"KUMO_LOG_LEVEL=warn",
		// An Invoke that arrives before a function process's first poll
		// waits for it, as AWS waits through a cold start (patch 0013).
		"KUMO_LAMBDA_INIT_TIMEOUT=10s",
		// Instances pass through pending/stopping (patch 0014) and instance
		// targets are health-checked every HealthCheckInterval (patch 0015).
		"KUMO_EC2_START_DELAY="+opts.EC2StartDelay.String(),
		"KUMO_EC2_STOP_DELAY="+opts.EC2StopDelay.String(),
		"KUMO_ELBV2_HEALTH_CHECK_INTERVAL="+opts.HealthCheckInterval.String(),
		"KUMO_ELBV2_HEALTH_CHECK_TIMEOUT="+opts.HealthCheckTimeout.String(),
		"AWS_REGION="+opts.Region,
		"AWS_DEFAULT_REGION="+opts.Region,
	)
	if opts.RealisticTiming {
		cmd.Env = append(cmd.Env, RealisticTimingKumoEnv+"=1")
	}
	cmd.Env = append(cmd.Env, sortedEnv(opts.KumoEnv)...)
	cmd.Stdout, cmd.Stderr = opts.Output, opts.Output
	cmd.SysProcAttr = childAttr()

	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start kumo %s: %w", opts.Binary, err)
	}
	b.kumo = cmd
	go func() { _ = cmd.Wait(); close(b.kumoDone) }()

	opts.Logger.Info("kumo started", "pid", cmd.Process.Pid, "endpoint", b.endpoint)

	if err := b.waitHealthy(ctx); err != nil {
		_ = b.Stop()
		return nil, err
	}

	go func() {
		select {
		case <-ctx.Done():
			_ = b.Stop()
		case <-b.kumoDone:
		}
	}()

	return b, nil
}

// orDefault returns d, def when d is 0, and 0 when d is negative.
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

func (b *Backend) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.StartTimeout)
	defer cancel()

	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()

	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.endpoint+"/health", nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}

		select {
		case <-b.kumoDone:
			return fmt.Errorf("kumo %s exited before it was healthy (%v)", b.opts.Binary, b.kumo.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("wait for kumo at %s to be healthy: %w", b.endpoint, ctx.Err())
		case <-tick.C:
		}
	}
}

// Endpoint is kumo's base URL, for clients that should not be recorded.
func (b *Backend) Endpoint() string { return b.endpoint }

// Port is kumo's TCP port.
func (b *Backend) Port() int { return b.port }

// Region is the region the backend serves.
func (b *Backend) Region() string { return b.opts.Region }

// Proxy is the recording, fault-injecting proxy function processes talk to.
func (b *Backend) Proxy() *awsproxy.Proxy { return b.proxy }

// KumoPID is the emulator's process id.
func (b *Backend) KumoPID() int { return b.kumo.Process.Pid }

// AWSConfig returns an SDK configuration that reaches kumo directly, with the
// backend's region and dummy credentials.
func (b *Backend) AWSConfig(ctx context.Context) (aws.Config, error) {
	return ConfigFor(ctx, b.endpoint, b.opts.Region)
}

// ConfigFor returns an SDK configuration for a local endpoint.
func ConfigFor(ctx context.Context, endpoint, region string) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")),
		config.WithBaseEndpoint(endpoint),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config for %s: %w", endpoint, err)
	}

	return cfg, nil
}

// Env returns the environment variables an outside AWS client needs to
// reach this backend.
func (b *Backend) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + b.endpoint,
		"AWS_REGION=" + b.opts.Region,
		"AWS_DEFAULT_REGION=" + b.opts.Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
	}
}

// PIDs returns the process ids of kumo and every function process started.
func (b *Backend) PIDs() []int {
	b.mu.Lock()
	defer b.mu.Unlock()

	pids := []int{b.kumo.Process.Pid}
	for _, f := range b.functions {
		pids = append(pids, f.cmd.Process.Pid)
	}

	return pids
}

// FunctionPIDs maps each running function process's name to its pid.
func (b *Backend) FunctionPIDs() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()

	out := make(map[string]int, len(b.functions))
	for _, f := range b.functions {
		out[f.name] = f.cmd.Process.Pid
	}

	return out
}

// Stop ends every function process, then kumo, and closes the proxy. It is
// safe to call more than once.
func (b *Backend) Stop() error {
	b.stopOnce.Do(func() {
		b.mu.Lock()
		b.stopped = true
		fns := b.functions
		b.mu.Unlock()

		// Version starts under way give up (no process starts once
		// stopped); their directory goes once they have.
		b.cancelStop()
		b.versionWork.Wait()

		var errs []error
		for _, f := range fns {
			errs = append(errs, terminate(f.cmd, f.done))
		}
		b.mu.Lock()
		versionDir := b.versionDir
		b.mu.Unlock()
		if versionDir != "" {
			errs = append(errs, os.RemoveAll(versionDir))
		}
		errs = append(errs, terminate(b.kumo, b.kumoDone), b.proxy.Close())
		b.stopErr = errors.Join(errs...)
		b.opts.Logger.Info("local backend stopped")
	})

	return b.stopErr
}

// process is a started child and the channel its waiter closes on exit.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// terminate sends SIGTERM to the process group, then SIGKILL after a grace
// period. done is closed by the goroutine that waits on cmd.
func terminate(cmd *exec.Cmd, done chan struct{}) error {
	if cmd == nil || cmd.Process == nil {
		return nil
	}

	pgid := -cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)

	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-done
	}
	// Anything left in the group (grandchildren) goes too.
	_ = syscall.Kill(pgid, syscall.SIGKILL)

	return nil
}

// childAttr puts a child in its own process group (so Stop reaches all it
// started) and asks the kernel to kill it if this process dies first.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()

	return ln.Addr().(*net.TCPAddr).Port, nil
}
