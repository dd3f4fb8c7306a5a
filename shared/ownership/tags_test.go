package ownership

import "testing"

func TestTagsCannotBeOverriddenByUser(t *testing.T) {
	tags := Tags("web", "exec-1", map[string]string{LoadBalancerKey: "other", "team": "a"})
	if tags[LoadBalancerKey] != "web" || tags[ExecutionKey] != "exec-1" || tags[ManagedByKey] != "autostop" || tags["team"] != "a" {
		t.Fatalf("tags = %v", tags)
	}
}

func TestOwnership(t *testing.T) {
	tags := Tags("web", "exec-1", nil)
	tests := []struct {
		name            string
		tags            map[string]string
		lb, exec        string
		wantLB, wantRun bool
	}{
		{"ours, this execution", tags, "web", "exec-1", true, true},
		{"ours, other execution", tags, "web", "exec-2", true, false},
		{"other load balancer", tags, "api", "exec-1", false, false},
		{"not autostop's", map[string]string{LoadBalancerKey: "web", ExecutionKey: "exec-1"}, "web", "exec-1", false, false},
		{"untagged", nil, "web", "exec-1", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OwnedByLoadBalancer(tt.tags, tt.lb); got != tt.wantLB {
				t.Errorf("OwnedByLoadBalancer = %v", got)
			}
			if got := CreatedBy(tt.tags, tt.lb, tt.exec); got != tt.wantRun {
				t.Errorf("CreatedBy = %v", got)
			}
		})
	}
}

func TestTXTRoundTrip(t *testing.T) {
	lb, exec, ok := ParseTXT(TXTValue("web", "exec-1"))
	if !ok || lb != "web" || exec != "exec-1" {
		t.Fatalf("ParseTXT(TXTValue) = %q %q %v", lb, exec, ok)
	}
	for _, v := range []string{`"v=spf1 -all"`, `"heritage=external-dns,external-dns/owner=x"`, `""`} {
		if _, _, ok := ParseTXT(v); ok {
			t.Errorf("ParseTXT(%s) claimed ownership", v)
		}
	}
}
