package localalb

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// newServer serves f on a free loopback port for the test.
func newServer(t *testing.T, f *Front) *Server {
	t.Helper()
	s, err := f.Serve(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})

	return s
}

func TestServeRefusesNonLoopback(t *testing.T) {
	f := newTestFront(t, nil, nil, nil)
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:80", "nonsense"} {
		if s, err := f.Serve(t.Context(), addr); err == nil {
			_ = s.Close()
			t.Errorf("Serve(%q) accepted a non-loopback address", addr)
		}
	}
}

// TestServeStopsWithContext: the server stops when its context ends, and
// leaves no goroutine behind.
func TestServeStopsWithContext(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newTestFront(t, nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := f.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get(s.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	client.CloseIdleConnections()

	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(s.URL() + "/"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server still answers after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
