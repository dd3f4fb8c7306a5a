package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/localaws"
)

// TestDemoProvisionsTheSample runs `autostop-local demo` as `make demo` does
// and checks it provisions the sample end to end, attaches the demo rule by
// event, wakes it with a first request through the ALB front (the wake
// printed as it happens) and exits 0.
func TestDemoProvisionsTheSample(t *testing.T) {
	if _, err := localaws.FindKumo(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "autostop-local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	out, err := exec.Command(bin, "demo", "--log", filepath.Join(dir, "backend.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		"✓ Validate", "✓ EnsureLoadBalancer", "✓ EnsureProxyTarget", "✓ EnsureCertificate", "✓ EnsureListeners", "✓ EnsureDNS",
		"Load balancer autostop-demo is ready",
		"*.autostop.example.test  A",
		"rule demo attached by event (AttachRule): stopped",
		"GET → 503, Retry-After 5, X-Autostop \"progress; phase=starting\"",
		"rule starting (health-check)",
		"target health healthy",
		"rule running: host rule added",
		"→ 200, served by i-",
		"Demo done",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
