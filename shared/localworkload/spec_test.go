package localworkload

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSpecFromTags(t *testing.T) {
	base := func(extra ...string) map[string]string {
		m := map[string]string{AddressTag: "127.0.0.7", PortsTag: "8080"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	addr := netip.MustParseAddr("127.0.0.7")
	tests := []struct {
		name    string
		tags    map[string]string
		want    Spec
		wantErr string // substring; "" = no error
	}{
		{name: "minimal", tags: base(), want: Spec{Address: addr, Ports: []int{8080}}},
		{name: "everything", tags: base(PortsTag, " 8080, 9000 ", StartupDelayTag, "1500ms", HealthTag, "FAIL", HealthPathTag, "/healthz"),
			want: Spec{Address: addr, Ports: []int{8080, 9000}, StartupDelay: 1500 * time.Millisecond, Health: HealthFail, HealthPath: "/healthz"}},
		{name: "health ok", tags: base(HealthTag, "ok"), want: Spec{Address: addr, Ports: []int{8080}, Health: HealthOK}},
		{name: "ipv6 loopback", tags: map[string]string{AddressTag: "::1", PortsTag: "80"}, want: Spec{Address: netip.IPv6Loopback(), Ports: []int{80}}},
		{name: "no address", tags: map[string]string{PortsTag: "8080"}, wantErr: ErrNotStandIn.Error()},
		{name: "no ports", tags: map[string]string{AddressTag: "127.0.0.7", PortsTag: " "}, wantErr: ErrNotStandIn.Error()},
		{name: "not an address", tags: base(AddressTag, "localhost"), wantErr: AddressTag},
		{name: "not loopback", tags: base(AddressTag, "10.0.0.5"), wantErr: "not a loopback address"},
		{name: "not a port", tags: base(PortsTag, "8080,http"), wantErr: `"http" is not a port`},
		{name: "port out of range", tags: base(PortsTag, "0,70000"), wantErr: "port 0 is not in 1-65535"},
		{name: "port twice", tags: base(PortsTag, "8080,8080"), wantErr: "port 8080 is listed twice"},
		{name: "bad delay", tags: base(StartupDelayTag, "3"), wantErr: StartupDelayTag},
		{name: "negative delay", tags: base(StartupDelayTag, "-1s"), wantErr: "negative"},
		{name: "bad health", tags: base(HealthTag, "sick"), wantErr: `"sick" is neither`},
		{name: "relative health path", tags: base(HealthTag, "fail", HealthPathTag, "healthz"), wantErr: "does not start with /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SpecFromTags(tt.tags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SpecFromTags = %+v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SpecFromTags = %+v, want %+v", got, tt.want)
			}
			if back, err := SpecFromTags(tagMap(got.Tags())); err != nil || !back.equal(got) {
				t.Errorf("SpecFromTags(Tags()) = %+v, %v; want %+v", back, err, got)
			}
		})
	}
	if _, err := SpecFromTags(nil); !errors.Is(err, ErrNotStandIn) {
		t.Errorf("no tags: %v, want ErrNotStandIn", err)
	}
}

func TestSpecFailing(t *testing.T) {
	tests := []struct {
		spec Spec
		path string
		want bool
	}{
		{Spec{}, "/", false},
		{Spec{Health: HealthOK, HealthPath: "/healthz"}, "/healthz", false},
		{Spec{Health: HealthFail}, "/", true},
		{Spec{Health: HealthFail}, "/anything", true},
		{Spec{Health: HealthFail, HealthPath: "/healthz"}, "/healthz", true},
		{Spec{Health: HealthFail, HealthPath: "/healthz?deep=1"}, "/healthz", true},
		{Spec{Health: HealthFail, HealthPath: "/healthz"}, "/", false},
		{Spec{Health: HealthFail, HealthPath: "/healthz"}, "/healthz/x", false},
	}
	for _, tt := range tests {
		if got := tt.spec.failing(tt.path); got != tt.want {
			t.Errorf("%+v failing(%q) = %v, want %v", tt.spec, tt.path, got, tt.want)
		}
	}
}
