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

func TestOwns(t *testing.T) {
	tests := []struct {
		name     string
		tags     map[string]string
		lb, exec string
		want     bool
	}{
		{"this execution", Tags("web", "exec-1", nil), "web", "exec-1", true},
		{"another execution", Tags("web", "exec-0", nil), "web", "exec-1", false},
		{"any execution: this one", Tags("web", "exec-1", nil), "web", "", true},
		{"any execution: another one", Tags("web", "exec-0", nil), "web", "", true},
		{"any execution: no execution tag", map[string]string{ManagedByKey: ManagedByValue, LoadBalancerKey: "web"}, "web", "", true},
		{"any execution: another load balancer", Tags("api", "exec-1", nil), "web", "", false},
		{"another load balancer", Tags("api", "exec-1", nil), "web", "exec-1", false},
		{"any execution: not autostop's", map[string]string{LoadBalancerKey: "web", ExecutionKey: "exec-1"}, "web", "", false},
		{"any execution: untagged", nil, "web", "", false},
		{"untagged", nil, "web", "exec-1", false},
		{"no load balancer: nothing", map[string]string{ManagedByKey: ManagedByValue, LoadBalancerKey: ""}, "", "", false},
		{"no load balancer, an execution: nothing", map[string]string{ManagedByKey: ManagedByValue, ExecutionKey: "exec-1"}, "", "exec-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Owns(tt.tags, tt.lb, tt.exec); got != tt.want {
				t.Errorf("Owns(%v, %q, %q) = %v, want %v", tt.tags, tt.lb, tt.exec, got, tt.want)
			}
		})
	}
}

func TestOwnsTXT(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		lb, exec string
		want     bool
	}{
		{"this execution", TXTValue("web", "exec-1"), "web", "exec-1", true},
		{"another execution", TXTValue("web", "exec-0"), "web", "exec-1", false},
		{"any execution: this one", TXTValue("web", "exec-1"), "web", "", true},
		{"any execution: another one", TXTValue("web", "exec-0"), "web", "", true},
		{"any execution: another load balancer", TXTValue("api", "exec-1"), "web", "", false},
		{"another load balancer", TXTValue("api", "exec-1"), "web", "exec-1", false},
		{"any execution: external-dns's", `"heritage=external-dns,external-dns/owner=web"`, "web", "", false},
		{"any execution: not an ownership record", `"v=spf1 -all"`, "web", "", false},
		{"any execution: empty", `""`, "web", "", false},
		{"no load balancer: nothing", TXTValue("", "exec-1"), "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OwnsTXT(tt.value, tt.lb, tt.exec); got != tt.want {
				t.Errorf("OwnsTXT(%s, %q, %q) = %v, want %v", tt.value, tt.lb, tt.exec, got, tt.want)
			}
		})
	}
}
