package localdeploy_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
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
	b, err := localaws.Start(ctx, localdeploy.BackendOptions(localaws.Options{}))
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

// BenchmarkProxyOverhead times one cheap AWS call (GetFunction) made
// directly to kumo and the same call through the recording proxy, alternately,
// and reports both and their difference.
func BenchmarkProxyOverhead(b *testing.B) {
	ctx := context.Background()
	backend, _ := startAll(b)
	b.Cleanup(func() { _ = backend.Stop() })

	proxyURL, err := backend.Proxy().Listen("bench")
	if err != nil {
		b.Fatal(err)
	}
	clients := map[string]*lambda.Client{}
	for name, endpoint := range map[string]string{"direct": backend.Endpoint(), "proxy": proxyURL} {
		cfg, err := localaws.ConfigFor(ctx, endpoint, backend.Region())
		if err != nil {
			b.Fatal(err)
		}
		clients[name] = lambda.NewFromConfig(cfg)
	}

	spent := map[string]time.Duration{}
	for b.Loop() {
		for _, name := range []string{"direct", "proxy"} {
			start := time.Now()
			if _, err := clients[name].GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws("autostop-proxy")}); err != nil {
				b.Fatal(err)
			}
			spent[name] += time.Since(start)
		}
	}
	perCall := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(perCall(spent["direct"]), "µs/direct-call")
	b.ReportMetric(perCall(spent["proxy"]), "µs/proxied-call")
	b.ReportMetric(perCall(spent["proxy"]-spent["direct"]), "µs/proxy-overhead")
}

func aws(s string) *string { return &s }

// residentMB sums VmRSS of the processes.
func residentMB(tb testing.TB, pids []int) float64 {
	var mb float64
	for _, pid := range pids {
		mb += localawstest.StatusMB(tb, pid, "VmRSS:")
	}

	return mb
}
