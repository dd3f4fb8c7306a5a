// Package localawstest starts the local AWS backend for tests.
package localawstest

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localenv"
)

// Start runs a fresh kumo for the test on a free port and stops it, with
// every function process, when the test ends. The backend's log is printed
// when the test fails.
func Start(t testing.TB) *localaws.Backend {
	t.Helper()
	return StartWith(t, localaws.Options{})
}

// StartWith is Start with options (timings, region…); the backend's log
// goes to the test's log file and, when opts.Output is set, to it too.
func StartWith(t testing.TB, opts localaws.Options) *localaws.Backend {
	t.Helper()

	logPath := filepath.Join(t.TempDir(), "backend.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create backend log: %v", err)
	}

	// The log is kept for a failing test's report, and copied to the
	// caller's Output when it wants to read it too.
	if opts.Output != nil {
		opts.Output = io.MultiWriter(logFile, opts.Output)
	} else {
		opts.Output = logFile
	}
	b, err := localaws.Start(context.Background(), opts)
	if err != nil {
		_ = logFile.Close()
		t.Fatalf("start local backend: %v", err)
	}

	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("stop local backend: %v", err)
		}
		_ = logFile.Close()
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil && len(out) > 0 {
				const max = 8 << 10
				if len(out) > max {
					out = out[len(out)-max:]
				}
				t.Logf("backend log (tail):\n%s", out)
			}
		}
	})

	return b
}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// BuildFunction builds the main package at pkg (a path relative to the test's
// package directory, or an import path) for this machine and returns the
// binary's path. Each package is built once per test binary run.
func BuildFunction(t testing.TB, pkg string) string {
	t.Helper()

	buildMu.Lock()
	defer buildMu.Unlock()

	abs := pkg
	if strings.HasPrefix(pkg, ".") {
		var err error
		if abs, err = filepath.Abs(pkg); err != nil {
			t.Fatalf("resolve %s: %v", pkg, err)
		}
	}
	if bin, ok := built[abs]; ok {
		return bin
	}

	if buildDir == "" {
		root, err := localaws.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		buildDir = filepath.Join(root, ".build", "testfn")
	}

	bin := filepath.Join(buildDir, strings.NewReplacer("/", "_", ".", "_").Replace(abs), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out.String())
	}
	built[abs] = bin

	return bin
}

// Seeded is a fresh backend with the customer environment seeded
// (shared/localenv), and SDK configurations that reach it directly (calls
// not recorded) and through the recording proxy (recorded as caller).
type Seeded struct {
	Backend *localaws.Backend
	Env     *localenv.Environment
	Direct  aws.Config
	Proxied aws.Config
}

// StartSeeded starts a backend as Start does and seeds it; calls made with
// Proxied are recorded under caller.
func StartSeeded(t testing.TB, caller string) *Seeded {
	t.Helper()
	return StartSeededWith(t, caller, localaws.Options{})
}

// StartSeededWith is StartSeeded on a backend started with opts (realistic
// timing, for one).
func StartSeededWith(t testing.TB, caller string, opts localaws.Options) *Seeded {
	t.Helper()
	ctx := context.Background()
	b := StartWith(t, opts)

	direct, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := localenv.Seed(ctx, direct)
	if err != nil {
		t.Fatalf("seed the local environment: %v", err)
	}
	url, err := b.Proxy().Listen(caller)
	if err != nil {
		t.Fatal(err)
	}
	proxied, err := localaws.ConfigFor(ctx, url, b.Region())
	if err != nil {
		t.Fatal(err)
	}

	return &Seeded{Backend: b, Env: env, Direct: direct, Proxied: proxied}
}
