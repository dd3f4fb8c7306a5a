package localworkload

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}

	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestAppPage(t *testing.T) {
	a := &App{instanceID: "i-0abc", spec: Spec{Address: netip.MustParseAddr("127.0.0.9"), Ports: []int{8080}, Health: HealthFail, HealthPath: "/healthz"},
		state: AppListening, since: time.Now().Add(-3 * time.Second)}
	tests := []struct {
		name, path, accept string
		status             int
		contentType        string
		want               []string
	}{
		{name: "browser", path: "/hello?x=<b>", accept: "text/html,application/xhtml+xml,*/*;q=0.8", status: 200, contentType: "text/html; charset=utf-8",
			want: []string{"<h1>served by i-0abc</h1>", "<dd>demo.example.test</dd>", "<dd>/hello?x=&lt;b&gt;</dd>", "<dt>up</dt><dd>3"}},
		{name: "curl", path: "/a/b", accept: "*/*", status: 200, contentType: "text/plain; charset=utf-8",
			want: []string{"served by i-0abc (stand-in workload on 127.0.0.9)\n", "host: demo.example.test\n", "path: /a/b\n", "up: 3"}},
		{name: "html refused", path: "/", accept: "text/html;q=0, text/plain", status: 200, contentType: "text/plain; charset=utf-8", want: []string{"served by i-0abc"}},
		{name: "failing health path", path: "/healthz", status: 500, contentType: "text/plain; charset=utf-8",
			want: []string{"500 unhealthy (autostop-local:health=fail)\n", "served by i-0abc"}},
		{name: "failing health path, browser", path: "/healthz", accept: "text/html", status: 500, contentType: "text/html; charset=utf-8",
			want: []string{"<strong>500 unhealthy", "served by i-0abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.path, nil)
			r.Host = "demo.example.test"
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			w := httptest.NewRecorder()
			a.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != tt.status || w.Header().Get("Content-Type") != tt.contentType || w.Header().Get("X-Served-By") != "i-0abc" {
				t.Errorf("%d %q X-Served-By %q, want %d %q i-0abc", w.Code, w.Header().Get("Content-Type"), w.Header().Get("X-Served-By"), tt.status, tt.contentType)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
			if strings.Contains(body, "<b>") {
				t.Errorf("the path is not escaped:\n%s", body)
			}
		})
	}
}

// testSpec is a spec on a fresh loopback address with a free port.
func testSpec(t *testing.T, ports int) Spec {
	t.Helper()
	addr, err := NewRandomAddresses().Next()
	if err != nil {
		t.Fatal(err)
	}
	s := Spec{Address: addr}
	for range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr.String(), "0"))
		if err != nil {
			t.Skipf("cannot listen on %v: %v", addr, err)
		}
		s.Ports = append(s.Ports, ln.Addr().(*net.TCPAddr).Port)
		_ = ln.Close()
	}

	return s
}

func get(t *testing.T, url string) (int, string, error) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)

	return resp.StatusCode, string(b), err
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()

	return true
}

func TestAppLifecycle(t *testing.T) {
	spec := testSpec(t, 2)
	spec.StartupDelay = 300 * time.Millisecond
	started := time.Now()
	a, err := StartApp("i-life", spec, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	addrs := a.Addrs()

	if st, _, _ := a.State(); st != AppStarting || listening(addrs[0]) {
		t.Fatalf("right after StartApp: %s, listening %v; want starting, not listening", st, listening(addrs[0]))
	}
	for !listening(addrs[0]) {
		if time.Since(started) > 3*time.Second {
			t.Fatal("not listening 3 s after StartApp")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(started); d < spec.StartupDelay {
		t.Errorf("listening %v after StartApp, before the startup delay %v", d, spec.StartupDelay)
	}
	if st, _, _ := a.State(); st != AppListening {
		t.Errorf("state %s, want listening", st)
	}
	for _, addr := range addrs {
		status, body, err := get(t, "http://"+addr+"/x")
		if err != nil || status != 200 || !strings.Contains(body, "served by i-life (stand-in workload on "+addr+")") {
			t.Errorf("GET %s: %d %q %v", addr, status, body, err)
		}
	}

	// A connection kept open does not keep the app from stopping.
	idle, err := net.Dial("tcp", addrs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	a.Stop()
	for _, addr := range addrs {
		if listening(addr) {
			t.Errorf("%s still listens after Stop", addr)
		}
	}
	if st, _, _ := a.State(); st != AppStopped {
		t.Errorf("state %s after Stop, want stopped", st)
	}
	a.Stop() // twice is fine
}

func TestAppStopBeforeListening(t *testing.T) {
	spec := testSpec(t, 1)
	spec.StartupDelay = time.Hour
	a, err := StartApp("i-early", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Stop waited for the startup delay")
	}
	if listening(a.Addrs()[0]) {
		t.Error("listening after Stop")
	}
}

func TestAppPortTaken(t *testing.T) {
	spec := testSpec(t, 2)
	ln, err := net.Listen("tcp", net.JoinHostPort(spec.Address.String(), strconv.Itoa(spec.Ports[1])))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	var kinds []EventKind
	a, err := startApp("i-taken", spec, nil, func(k EventKind, err error) {
		kinds = append(kinds, k)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("event %s error %v, want address already in use", k, err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-a.Done()
	if st, _, err := a.State(); st != AppFailed || err == nil {
		t.Errorf("state %s, %v; want failed with the listen error", st, err)
	}
	if len(kinds) != 1 || kinds[0] != EventFailed {
		t.Errorf("events %v, want [failed]", kinds)
	}
	if listening(a.Addrs()[0]) {
		t.Error("the first port stays open after the second failed")
	}
	a.Stop()
}

func TestStartAppRefusesNonLoopback(t *testing.T) {
	if a, err := StartApp("i-x", Spec{Address: netip.MustParseAddr("0.0.0.0"), Ports: []int{8080}}, nil); err == nil {
		a.Stop()
		t.Fatal("StartApp listened on 0.0.0.0")
	}
}
