package localalb

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// upstream is an httptest server standing in for an instance; it answers
// with its name and echoes what the ALB forwarded in headers.
func upstream(t *testing.T, name string) (port int32) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Instance", name)
		w.Header().Set("X-Got-Host", r.Host)
		w.Header().Set("X-Got-Uri", r.RequestURI)
		w.Header().Set("X-Got-Forwarded-For", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Got-Forwarded-Proto", r.Header.Get("X-Forwarded-Proto"))
		w.Header().Set("X-Got-Forwarded-Port", r.Header.Get("X-Forwarded-Port"))
		w.Header().Set("X-Got-Trace", r.Header.Get("X-Amzn-Trace-Id"))
		if r.URL.Path == "/login" {
			http.Redirect(w, r, "https://"+r.Host+"/home", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("hello from " + name))
	}))
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(p)

	return int32(n)
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()

	return int32(port)
}

func instance(id, privateIP, tagAddress string) ec2types.Instance {
	inst := ec2types.Instance{InstanceId: aws.String(id), PrivateIpAddress: aws.String(privateIP)}
	if tagAddress != "" {
		inst.Tags = []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(id)}, {Key: aws.String(AddressTag), Value: aws.String(tagAddress)}}
	}

	return inst
}

func TestServeInstance(t *testing.T) {
	portA, portB := upstream(t, "a"), upstream(t, "b")
	ec := &fakeEC2{instances: map[string]ec2types.Instance{
		"i-a":    instance("i-a", "10.10.1.5", "127.0.0.1"), // reached through its kumo:address tag
		"i-b":    instance("i-b", "127.0.0.1", ""),          // through its private address
		"i-sick": instance("i-sick", "127.0.0.1", ""),
		"i-gone": instance("i-gone", "10.10.1.9", "127.0.0.9"),
	}}

	tests := []struct {
		name   string
		health []types.TargetHealthDescription
		// want is the instance answering each of the requests, in order;
		// "" for an error status.
		want       []string
		wantStatus int
	}{
		{
			name:   "round robin over healthy targets, unhealthy skipped",
			health: []types.TargetHealthDescription{healthy("i-a", portA), healthState("i-sick", portB, types.TargetHealthStateEnumUnhealthy), healthy("i-b", portB)},
			want:   []string{"a", "b", "a", "b"}, wantStatus: 200,
		},
		{
			name:   "no healthy target: 503",
			health: []types.TargetHealthDescription{healthState("i-a", portA, types.TargetHealthStateEnumInitial), healthState("i-b", portB, types.TargetHealthStateEnumUnused)},
			want:   []string{""}, wantStatus: 503,
		},
		{
			name: "no target at all: 503", health: nil,
			want: []string{""}, wantStatus: 503,
		},
		{
			name:   "connection refused: 502",
			health: []types.TargetHealthDescription{healthy("i-b", closedPort(t))},
			want:   []string{""}, wantStatus: 502,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFakeLB()
			e.health[testAppTG] = tt.health
			f := newTestFront(t, e, nil, ec)
			for i, want := range tt.want {
				w := do(f, "GET", "/some/path?q=1", "app.autostop.example.test.localhost:8123", nil, http.Header{"X-Forwarded-For": {"203.0.113.9"}})
				if w.Code != tt.wantStatus {
					t.Fatalf("request %d: status %d, want %d (%s)", i, w.Code, tt.wantStatus, w.Body.String())
				}
				if got := w.Header().Get("X-Instance"); got != want {
					t.Errorf("request %d answered by %q, want %q", i, got, want)
				}
				if want == "" {
					if w.Header().Get("Server") != "awselb/2.0" {
						t.Errorf("error not answered by the front: %v", w.Header())
					}
					continue
				}
				for k, v := range map[string]string{
					"X-Got-Host": "app.autostop.example.test", "X-Got-Uri": "/some/path?q=1",
					"X-Got-Forwarded-For": "203.0.113.9, 192.0.2.1", "X-Got-Forwarded-Proto": "https", "X-Got-Forwarded-Port": "443",
				} {
					if got := w.Header().Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
				if w.Header().Get("X-Got-Trace") == "" {
					t.Error("no X-Amzn-Trace-Id forwarded")
				}
			}
		})
	}
}

// TestServeInstanceLocation: a redirect from the instance to its own host
// is localized for a .localhost client.
func TestServeInstanceLocation(t *testing.T) {
	port := upstream(t, "a")
	e := newFakeLB()
	e.health[testAppTG] = []types.TargetHealthDescription{healthy("i-a", port)}
	f := newTestFront(t, e, nil, &fakeEC2{instances: map[string]ec2types.Instance{"i-a": instance("i-a", "127.0.0.1", "")}})

	w := do(f, "GET", "/login", "app.autostop.example.test.localhost:8123", nil, nil)
	if w.Code != 302 || w.Header().Get("Location") != "http://app.autostop.example.test.localhost:8123/home" {
		t.Errorf("got %d Location %q", w.Code, w.Header().Get("Location"))
	}
	w = do(f, "GET", "/login", "app.autostop.example.test", nil, nil)
	if w.Header().Get("Location") != "https://app.autostop.example.test/home" {
		t.Errorf("without .localhost: Location %q, want it unchanged", w.Header().Get("Location"))
	}
}

// TestServeInstanceUnknownAddress: a healthy target whose instance cannot
// be described answers 502; DescribeInstances is cached with the rest.
func TestServeInstanceUnknownAddress(t *testing.T) {
	e := newFakeLB()
	e.health[testAppTG] = []types.TargetHealthDescription{healthy("i-missing", 80)}
	ec := &fakeEC2{instances: map[string]ec2types.Instance{}}
	f := newTestFront(t, e, nil, ec)
	for range 3 {
		if w := do(f, "GET", "/", "app.autostop.example.test", nil, nil); w.Code != 502 {
			t.Fatalf("status %d, want 502", w.Code)
		}
	}
	if ec.calls.Load() != 1 {
		t.Errorf("%d DescribeInstances calls, want 1 (cached)", ec.calls.Load())
	}
}

// TestServeInstanceOneUnknownInstance: one instance EC2 does not know does
// not cost the others their address.
func TestServeInstanceOneUnknownInstance(t *testing.T) {
	port := upstream(t, "a")
	e := newFakeLB()
	e.health[testAppTG] = []types.TargetHealthDescription{healthy("i-a", port), healthy("i-missing", 80)}
	ec := &fakeEC2{instances: map[string]ec2types.Instance{"i-a": instance("i-a", "10.10.1.5", "127.0.0.1")}}
	f := newTestFront(t, e, nil, ec)
	var codes []int
	for range 2 {
		codes = append(codes, do(f, "GET", "/", "app.autostop.example.test", nil, nil).Code)
	}
	if codes[0] != 200 || codes[1] != 502 {
		t.Errorf("statuses %v, want [200 502] (i-a reachable, i-missing not)", codes)
	}
	if ec.calls.Load() != 3 {
		t.Errorf("%d DescribeInstances calls, want 3 (the batch, then one per instance)", ec.calls.Load())
	}
}
