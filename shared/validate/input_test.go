package validate

import (
	"errors"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/steperr"
)

func TestDecodeInput(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // "" ok, else a substring of the InvalidRequest
	}{
		{"full document", `{"spec":{"name":"a","vpcId":"vpc-1","domain":"a.b","dns":{"provider":"other"}},"execution":"e1","results":{},"timing":{"dnsWaitSeconds":5}}`, ""},
		{"unknown spec field", `{"spec":{"name":"a","vpcid":"vpc-1","domain":"a.b","dns":{"provider":"other"}},"execution":"e1"}`, `unknown field "vpcid"`},
		{"unknown nested field", `{"spec":{"name":"a","vpcId":"vpc-1","domain":"a.b","dns":{"provider":"other","zone":"x"}},"execution":"e1"}`, `unknown field "zone"`},
		{"wrong type", `{"spec":{"name":1},"execution":"e1"}`, "name"},
		{"no spec", `{"execution":"e1"}`, "no load balancer spec"},
		{"null spec", `{"spec":null,"execution":"e1"}`, "no load balancer spec"},
		{"not JSON", `{"spec":`, "decode step input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := DecodeInput([]byte(tc.doc))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("DecodeInput: %v", err)
				}
				if in.Spec.Name != "a" || in.Execution != "e1" || in.Timing.DNSWaitSeconds != 5 {
					t.Errorf("decoded %+v", in)
				}
				return
			}
			var inv *steperr.InvalidRequest
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeInput = %v, want InvalidRequest containing %q", err, tc.want)
			}
		})
	}
}
