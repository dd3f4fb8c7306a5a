package localaws

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// FunctionProcess is a built Lambda bootstrap to run against kumo's Lambda
// Runtime API, as the Lambda service runs it in AWS.
type FunctionProcess struct {
	// Name is the function name the process serves. kumo routes an
	// invocation of a function to the processes polling /_runtime/<Name>.
	Name string
	// Version is the published version the process serves ("" for
	// $LATEST). A version's processes poll /_runtime/<Name>:<Version>,
	// where kumo sends the invocations of that version and of the aliases
	// pointing at it; they see AWS_LAMBDA_FUNCTION_VERSION=<Version>, and
	// their AWS calls are recorded under Caller <Name> with Call.Version
	// <Version>.
	Version string
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
// With fn.Version set it starts a process of that published version (see
// StartVersion, which finds the version's own code).
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

	key := fn.runtimeName()
	b.mu.Lock()
	b.fnSpecs[key] = fn
	b.fnCount[key]++
	b.mu.Unlock()

	p, err := b.spawn(fn)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, fn.ReadyTimeout)
	defer cancel()

	ready := make(chan error, 1)
	go func() { ready <- b.proxy.WaitPolling(ctx, key) }()

	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("start function %s: %w", key, err)
		}
	case <-p.done:
		return fmt.Errorf("start function %s: process exited before polling (%v)", key, p.cmd.ProcessState)
	}

	b.opts.Logger.Info("function polling", "function", key, "pid", p.cmd.Process.Pid)

	return nil
}

// runtimeName is the name the process polls the Runtime API under (and the
// key of its spec and process count): <Name>, or <Name>:<Version>.
func (fn FunctionProcess) runtimeName() string {
	if fn.Version == "" {
		return fn.Name
	}

	return fn.Name + ":" + fn.Version
}

// scaleOut starts one more process of a function (or a function version:
// name is the Runtime API name, see runtimeName) whose processes are all
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
	endpoint, err := b.proxy.ListenVersion(fn.Name, fn.Version)
	if err != nil {
		return nil, err
	}
	version := fn.Version
	if version == "" {
		version = "$LATEST"
	}

	env := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          endpoint[len("http://"):] + runtimePath(fn.runtimeName()),
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     version,
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

	key := fn.runtimeName()
	var cmd *exec.Cmd
	b.mu.Lock()
	for attempt := 0; ; attempt++ {
		if b.stopped {
			b.mu.Unlock()
			return nil, fmt.Errorf("start function %s: backend stopped", key)
		}
		cmd = exec.Command(fn.Binary)
		cmd.Env = sortedEnv(env)
		cmd.Stdout, cmd.Stderr = b.opts.Output, b.opts.Output
		cmd.SysProcAttr = childAttr()
		err := cmd.Start()
		if err == nil {
			break
		}
		// A binary StartVersion has just written can be "text file busy"
		// for a moment: a process forked meanwhile holds the write
		// descriptor until it execs (golang.org/issue/22315).
		if errors.Is(err, syscall.ETXTBSY) && attempt < 20 {
			b.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
			b.mu.Lock()
			continue
		}
		b.mu.Unlock()
		return nil, fmt.Errorf("start function %s (%s): %w", key, fn.Binary, err)
	}
	p := &process{name: key, cmd: cmd, done: make(chan struct{})}
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
