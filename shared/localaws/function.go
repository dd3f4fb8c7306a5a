package localaws

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"time"
)

// FunctionProcess is a built Lambda bootstrap to run against kumo's Lambda
// Runtime API, as the Lambda service runs it in AWS.
type FunctionProcess struct {
	// Name is the function name the process serves. kumo routes an
	// invocation of a function to the processes polling /_runtime/<Name>.
	Name string
	// Binary is the path of the built bootstrap executable.
	Binary string
	// Env is the function's configured environment (kumo does not pass a
	// function's Environment to the runtime, so the runner sets it here).
	Env map[string]string
	// MemoryMB is reported to the runtime as AWS_LAMBDA_FUNCTION_MEMORY_SIZE. Default 128.
	MemoryMB int
	// ReadyTimeout bounds the wait for the first runtime poll. Default 10 s.
	ReadyTimeout time.Duration
	// MaxProcesses bounds the processes the runner starts for the function
	// (its local concurrency). Default: Options.MaxFunctionProcesses.
	MaxProcesses int
}

// StartFunction starts the function's process and waits until it polls the
// runtime API for its first invocation (before that, kumo answers Invoke with
// an error). Its AWS calls go through the backend's recording proxy under a
// caller named after the function.
//
// One process answers one invocation at a time, as a Lambda execution
// environment does. When every process of the function is busy, the runner
// starts one more (scaleOut), up to MaxProcesses: held requests and
// concurrent invocations do not queue behind each other.
func (b *Backend) StartFunction(ctx context.Context, fn FunctionProcess) error {
	if fn.MemoryMB == 0 {
		fn.MemoryMB = 128
	}
	if fn.ReadyTimeout == 0 {
		fn.ReadyTimeout = 10 * time.Second
	}
	if fn.MaxProcesses <= 0 {
		fn.MaxProcesses = b.opts.MaxFunctionProcesses
	}

	b.mu.Lock()
	b.fnSpecs[fn.Name] = fn
	b.fnCount[fn.Name]++
	b.mu.Unlock()

	p, err := b.spawn(fn)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, fn.ReadyTimeout)
	defer cancel()

	ready := make(chan error, 1)
	go func() { ready <- b.proxy.WaitPolling(ctx, fn.Name) }()

	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("start function %s: %w", fn.Name, err)
		}
	case <-p.done:
		return fmt.Errorf("start function %s: process exited before polling (%v)", fn.Name, p.cmd.ProcessState)
	}

	b.opts.Logger.Info("function polling", "function", fn.Name, "pid", p.cmd.Process.Pid)

	return nil
}

// scaleOut starts one more process of a function whose processes are all
// busy, unless it has MaxProcesses already.
func (b *Backend) scaleOut(name string) {
	b.mu.Lock()
	fn, ok := b.fnSpecs[name]
	if !ok || b.stopped || b.fnCount[name] >= fn.MaxProcesses {
		b.mu.Unlock()
		return
	}
	b.fnCount[name]++
	n := b.fnCount[name]
	b.mu.Unlock()

	if _, err := b.spawn(fn); err != nil {
		b.opts.Logger.Warn("scale out", "function", name, "error", err)
		return
	}
	b.opts.Logger.Info("function scaled out", "function", name, "processes", n)
}

// spawn starts one process of the function.
func (b *Backend) spawn(fn FunctionProcess) (*process, error) {
	endpoint, err := b.proxy.Listen(fn.Name)
	if err != nil {
		return nil, err
	}

	env := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          endpoint[len("http://"):] + runtimePath(fn.Name),
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"AWS_REGION":                      b.opts.Region,
		"AWS_DEFAULT_REGION":              b.opts.Region,
		"AWS_ACCESS_KEY_ID":               AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":           SecretAccessKey,
		"AWS_ENDPOINT_URL":                endpoint,
		"_HANDLER":                        "bootstrap",
		"PATH":                            "/usr/bin:/bin",
	}
	for k, v := range fn.Env {
		env[k] = v
	}

	cmd := exec.Command(fn.Binary)
	cmd.Env = sortedEnv(env)
	cmd.Stdout, cmd.Stderr = b.opts.Output, b.opts.Output
	cmd.SysProcAttr = childAttr()

	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return nil, fmt.Errorf("start function %s: backend stopped", fn.Name)
	}
	if err := cmd.Start(); err != nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("start function %s (%s): %w", fn.Name, fn.Binary, err)
	}
	p := &process{name: fn.Name, cmd: cmd, done: make(chan struct{})}
	b.functions = append(b.functions, p)
	b.mu.Unlock()

	go func() { _ = cmd.Wait(); close(p.done) }()

	return p, nil
}

// runtimePath is kumo's per-function Runtime API prefix.
func runtimePath(name string) string { return "/_runtime/" + name }

func sortedEnv(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)

	return out
}
