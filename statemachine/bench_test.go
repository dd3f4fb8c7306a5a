package statemachine

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localworkload"
	"github.com/autostop/autostop/shared/rulestore"
)

// BenchmarkProvisionRoute53ExistingCertificate provisions the Route 53 +
// existing certificate sample on a fresh local backend per iteration and
// reports the figures issue 5 asks for: state transitions, AWS calls (total
// and mutating, counted by the recording proxy), wall time of the execution
// (backend start-up and builds excluded), the peak resident memory of the
// largest step process, and the size of the largest stripped arm64
// bootstrap (`make functions`).
func BenchmarkProvisionRoute53ExistingCertificate(b *testing.B) {
	var wall time.Duration
	var transitions, calls, mutating int
	peak := map[string]float64{}

	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		w := newWorld(b)
		s := w.sample(b, "route53-existing-certificate")
		b.StartTimer()

		start := time.Now()
		d := w.provision(b, s, "bench-"+strconv.Itoa(i))
		wall += time.Since(start)

		b.StopTimer()
		requireSucceeded(b, d)
		transitions += countTransitions(b, w, aws.ToString(d.ExecutionArn))
		for _, c := range w.backend.Proxy().Calls() {
			if isWatcherCall(c) {
				continue
			}
			calls++
			if c.Mutating {
				mutating++
			}
		}
		for name, pid := range w.backend.FunctionPIDs() {
			peak[name] = max(peak[name], localawstest.StatusMB(b, pid, "VmHWM:"))
		}
		_ = w.backend.Stop()
		b.StartTimer()
	}

	n := float64(b.N)
	b.ReportMetric(float64(wall.Milliseconds())/n, "ms/execution")
	b.ReportMetric(float64(transitions)/n, "transitions")
	b.ReportMetric(float64(calls)/n, "aws-calls")
	b.ReportMetric(float64(mutating)/n, "mutating-calls")

	var names []string
	for name := range peak {
		names = append(names, name)
	}
	sort.Strings(names)
	var maxRSS float64
	for _, name := range names {
		b.Logf("peak RSS %-36s %5.1f MB", name, peak[name])
		maxRSS = max(maxRSS, peak[name])
	}
	b.ReportMetric(maxRSS, "MB-peak-step-rss")

	root, err := localaws.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	var maxSize float64
	for _, f := range app.Description().Functions {
		st, err := os.Stat(filepath.Join(root, ".build", "lambda", f.ID, "bootstrap"))
		if err != nil {
			b.Fatalf("arm64 bootstrap of %s (run `make functions`): %v", f.ID, err)
		}
		mb := float64(st.Size()) / 1e6
		b.Logf("arm64 bootstrap %-24s %5.2f MB", f.ID, mb)
		maxSize = max(maxSize, mb)
	}
	b.ReportMetric(maxSize, "MB-largest-bootstrap")
}

// isWatcherCall: a call of the idle watcher, which the local backend runs
// every second in every world (its schedule, scaled), whatever the
// benchmark measures: not counted in a workflow's calls.
func isWatcherCall(c awsproxy.Call) bool { return c.Caller == app.NamePrefix+"idle-watch" }

// countTransitions counts the states the execution entered, which is what
// Step Functions bills as state transitions.
func countTransitions(b testing.TB, w *world, arn string) int {
	var n int
	var token *string
	for {
		h, err := w.states.GetExecutionHistory(context.Background(), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), NextToken: token, MaxResults: 1000})
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range h.Events {
			if strings.HasSuffix(string(e.Type), "StateEntered") {
				n++
			}
		}
		if h.NextToken == nil {
			return n
		}
		token = h.NextToken
	}
}

// BenchmarkWake wakes a stopped rule through the local ALB front and the
// real proxy and WakeRule functions, once per iteration (a new rule each
// time, on one backend), and reports the figures issue 9 asks for: state
// transitions and AWS calls per wake (proxy and wake steps, counted by the
// recording proxy), the delay from the target turning healthy to the first
// request the instance serves, and the first request's wait for the app.
func BenchmarkWake(b *testing.B) {
	ww := newWakeWorld(b)
	var transitions, calls, mutating int
	var healthyToServed, firstToServed time.Duration

	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		it := ww.attachStopped(b, "bench"+strconv.Itoa(i), localworkload.Spec{StartupDelay: time.Second})
		ctx, stop := context.WithCancel(context.Background())
		samples := ww.watch(ctx, it)
		ww.backend.Proxy().Reset()
		b.StartTimer()

		start := time.Now()
		served := ww.waitServed(b, it, browserAccept)

		b.StopTimer()
		stop()
		firstToServed += served.Sub(start)
		for _, s := range samples() {
			if s.target == "healthy" {
				healthyToServed += served.Sub(s.at)
				break
			}
		}
		woken, err := ww.store.Get(context.Background(), it.Host, true)
		if err != nil {
			b.Fatal(err)
		}
		transitions += countTransitions(b, ww.world, woken.WakeExecution)
		for _, c := range ww.backend.Proxy().Calls() {
			if isWatcherCall(c) {
				continue
			}
			calls++
			if c.Mutating {
				mutating++
			}
		}
		b.StartTimer()
	}

	n := float64(b.N)
	b.ReportMetric(float64(transitions)/n, "transitions/wake")
	b.ReportMetric(float64(calls)/n, "aws-calls/wake")
	b.ReportMetric(float64(mutating)/n, "mutating-calls/wake")
	b.ReportMetric(float64(healthyToServed.Milliseconds())/n, "ms-healthy-to-served")
	b.ReportMetric(float64(firstToServed.Milliseconds())/n, "ms-first-request-to-served")
}

// BenchmarkSleep: a running rule goes idle and the scheduled watcher puts
// it to sleep (local timings: idle "minutes" of a second, a 2 s lag, the
// front publishing a datapoint a second). It reports the sleep workflow's
// state transitions, the AWS calls of its steps, and the time from the last
// request to the rule recorded stopped.
func BenchmarkSleep(b *testing.B) {
	ww := newWakeWorld(b)
	var transitions, calls, mutating int
	var lastToStopped time.Duration

	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		it := ww.attachStopped(b, "sleep"+strconv.Itoa(i), localworkload.Spec{}, idle(1))
		ww.wakeNow(b, it)
		ww.backend.Proxy().Reset()
		last := time.Now()
		b.StartTimer()

		slept := ww.waitState(b, it.Host, rulestore.Stopped, sleepBound, nil)

		b.StopTimer()
		lastToStopped += time.Since(last)
		transitions += countTransitions(b, ww.world, slept.SleepExecution)
		for _, c := range ww.backend.Proxy().Calls() {
			if !strings.HasPrefix(c.Caller, app.NamePrefix+"sleep-") {
				continue
			}
			calls++
			if c.Mutating {
				mutating++
			}
		}
		b.StartTimer()
	}

	n := float64(b.N)
	b.ReportMetric(float64(transitions)/n, "transitions/sleep")
	b.ReportMetric(float64(calls)/n, "aws-calls/sleep")
	b.ReportMetric(float64(mutating)/n, "mutating-calls/sleep")
	b.ReportMetric(float64(lastToStopped.Milliseconds())/n, "ms-last-request-to-stopped")
}

// BenchmarkProvisionRealisticTiming provisions the Route 53 + issued
// certificate sample on a backend with realistic timing (the ALB
// provisions, ACM issues after its CNAME exists, the Route 53 change syncs,
// ELB sees the new certificate and the invoke permission a while later) and
// reports the state transitions per provisioning and, for each wait loop,
// the delay from the resource becoming ready to the workflow moving on
// (the goal: at most one wait interval; locally 1 s, 1–2 s for the
// certificate). Ready, by kumo's rules: the ALB's CreatedTime plus its
// provisioning delay (KUMO_ELBV2_PROVISIONING_DELAY, 3 s), the
// certificate's IssuedAt, the Route 53 change's SubmittedAt plus its INSYNC
// delay (KUMO_ROUTE53_INSYNC_DELAY, 2 s).
func BenchmarkProvisionRealisticTiming(b *testing.B) {
	var transitions, calls int
	var lbLag, certLag, dnsLag, wall time.Duration

	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		w := newWorldWith(b, localaws.Options{RealisticTiming: true})
		s := w.sample(b, "route53-issued-certificate")
		b.StartTimer()

		start := time.Now()
		d := w.provision(b, s, "bench-realistic-"+strconv.Itoa(i))
		wall += time.Since(start)

		b.StopTimer()
		requireSucceeded(b, d)
		out := decodeOutput(b, d.Output)
		first := w.entered(b, aws.ToString(d.ExecutionArn))
		transitions += first.total
		for _, c := range w.backend.Proxy().Calls() {
			if strings.HasPrefix(c.Caller, app.NamePrefix) && !isWatcherCall(c) {
				calls++
			}
		}

		lbs, err := elbv2.NewFromConfig(w.cfg).DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{Names: []string{s.Name}})
		if err != nil {
			b.Fatal(err)
		}
		lbReady := aws.ToTime(lbs.LoadBalancers[0].CreatedTime).Add(3 * time.Second)
		cert, err := acm.NewFromConfig(w.cfg).DescribeCertificate(context.Background(), &acm.DescribeCertificateInput{CertificateArn: aws.String(out.Results.Certificate.ARN)})
		if err != nil {
			b.Fatal(err)
		}
		change, err := route53.NewFromConfig(w.cfg).GetChange(context.Background(), &route53.GetChangeInput{Id: aws.String(out.Results.DNS.ChangeID)})
		if err != nil {
			b.Fatal(err)
		}
		dnsReady := aws.ToTime(change.ChangeInfo.SubmittedAt).Add(2 * time.Second)
		if cert.Certificate.IssuedAt == nil {
			b.Fatal("the certificate has no IssuedAt")
		}
		lbLag += first.at["EnsureProxyTarget"].Sub(lbReady)
		certLag += first.at["EnsureListeners"].Sub(aws.ToTime(cert.Certificate.IssuedAt))
		dnsLag += first.at["Provisioned"].Sub(dnsReady)
		b.Logf("run %d: %d transitions, wait loops %s", i, first.total, loopTurns(first.count))
		_ = w.backend.Stop()
		b.StartTimer()
	}

	n := float64(b.N)
	b.ReportMetric(float64(transitions)/n, "transitions")
	b.ReportMetric(float64(calls)/n, "aws-calls")
	b.ReportMetric(float64(wall.Milliseconds())/n, "ms/execution")
	b.ReportMetric(float64(lbLag.Milliseconds())/n, "ms-alb-active-to-next-step")
	b.ReportMetric(float64(certLag.Milliseconds())/n, "ms-cert-issued-to-next-step")
	b.ReportMetric(float64(dnsLag.Milliseconds())/n, "ms-dns-insync-to-done")
}

// BenchmarkDeleteLoadBalancer: the teardown of the Route 53 + issued
// certificate sample with realistic timing: its state transitions (the
// Step Functions bill), AWS calls and wall time, the security group's wait
// included.
func BenchmarkDeleteLoadBalancer(b *testing.B) {
	var wall time.Duration
	var transitions, calls, mutating int
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		w := newWorldWith(b, localaws.Options{RealisticTiming: true})
		s := w.sample(b, "route53-issued-certificate")
		requireSucceeded(b, w.provision(b, s, "provision"))
		w.backend.Proxy().Reset()
		b.StartTimer()

		start := time.Now()
		d := w.deleteLB(b, s.Name, false, "bench-delete-"+strconv.Itoa(i))
		wall += time.Since(start)

		b.StopTimer()
		requireSucceeded(b, d)
		transitions += countTransitions(b, w, aws.ToString(d.ExecutionArn))
		for _, c := range w.backend.Proxy().Calls() {
			if isWatcherCall(c) {
				continue
			}
			calls++
			if c.Mutating {
				mutating++
			}
		}
		_ = w.backend.Stop()
		b.StartTimer()
	}

	n := float64(b.N)
	b.ReportMetric(float64(wall.Milliseconds())/n, "ms/execution")
	b.ReportMetric(float64(transitions)/n, "transitions")
	b.ReportMetric(float64(calls)/n, "aws-calls")
	b.ReportMetric(float64(mutating)/n, "mutating-calls")
}
