package localdeploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/localenv"
)

// startAll brings the local backend up as `make up` does: kumo healthy, the
// app deployed with every function polling, the environment seeded.
func startAll(tb testing.TB) (*localaws.Backend, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	root, err := localaws.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}

	start := time.Now()
	b, err := localaws.Start(ctx, localaws.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := localdeploy.Deploy(ctx, b, app.Description(), localdeploy.Options{RepoRoot: root, BinDir: filepath.Join(root, ".build", "local")}); err != nil {
		_ = b.Stop()
		tb.Fatal(err)
	}
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := localenv.Seed(ctx, cfg); err != nil {
		_ = b.Stop()
		tb.Fatal(err)
	}

	return b, time.Since(start)
}

// BenchmarkBackendStartup measures start to healthy with the app deployed,
// every function polling and the environment seeded (builds excluded), and
// the resident memory of kumo plus all function processes once idle.
func BenchmarkBackendStartup(b *testing.B) {
	var total time.Duration
	var rss float64
	for b.Loop() {
		backend, took := startAll(b)
		total += took
		time.Sleep(200 * time.Millisecond) // let start-up garbage settle before reading RSS
		rss = residentMB(b, backend.PIDs())
		if err := backend.Stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/startup")
	b.ReportMetric(rss, "MB-idle-rss")
}

// BenchmarkProxyOverhead compares one cheap AWS call made directly to kumo
// with the same call through the recording proxy.
func BenchmarkProxyOverhead(b *testing.B) {
	ctx := context.Background()
	backend, _ := startAll(b)
	b.Cleanup(func() { _ = backend.Stop() })

	proxyURL, err := backend.Proxy().Listen("bench")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, endpoint string }{{"direct", backend.Endpoint()}, {"via-proxy", proxyURL}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg, err := localaws.ConfigFor(ctx, tc.endpoint, backend.Region())
			if err != nil {
				b.Fatal(err)
			}
			client := lambda.NewFromConfig(cfg)
			for b.Loop() {
				if _, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws("autostop-proxy")}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func aws(s string) *string { return &s }

// residentMB sums VmRSS of the processes.
func residentMB(tb testing.TB, pids []int) float64 {
	var kb int
	for _, pid := range pids {
		status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			tb.Fatalf("read status of %d: %v", pid, err)
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				kb += n
			}
		}
	}

	return float64(kb) / 1024
}
