package step

import "testing"

func TestCertificateWaitBacksOff(t *testing.T) {
	timing := Timing{CertificateWaitSeconds: 15, CertificateMaxWaitSeconds: 300}
	want := []int{15, 30, 60, 120, 240, 300, 300}
	for i, w := range want {
		if got := timing.CertificateWait(i + 1); got != w {
			t.Errorf("CertificateWait(%d) = %d, want %d", i+1, got, w)
		}
	}
	if got := (Timing{}).CertificateWait(3); got != 1 {
		t.Errorf("zero timing waits %d s, want 1", got)
	}
}

// TestFirstWaitThenEvery: the ALB and DNS loops wait long once (sized to
// the usual time, fewer billed transitions), then short; never 0 s.
func TestFirstWaitThenEvery(t *testing.T) {
	tests := []struct {
		name   string
		timing Timing
		want   []int // waits after checks 1, 2, 3
	}{
		{"ALB on AWS", Timing{LoadBalancerFirstWaitSeconds: 150, LoadBalancerWaitSeconds: 15}, []int{150, 15, 15}},
		{"ALB without a first wait", Timing{LoadBalancerWaitSeconds: 15}, []int{15, 15, 15}},
		{"ALB, nothing set", Timing{}, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, w := range tt.want {
				if got := tt.timing.LoadBalancerWait(i + 1); got != w {
					t.Errorf("LoadBalancerWait(%d) = %d, want %d", i+1, got, w)
				}
			}
		})
	}
	dns := Timing{DNSFirstWaitSeconds: 40, DNSWaitSeconds: 10}
	if got := []int{dns.DNSWait(1), dns.DNSWait(2)}; got[0] != 40 || got[1] != 10 {
		t.Errorf("DNSWait(1), DNSWait(2) = %v, want [40 10]", got)
	}
}
