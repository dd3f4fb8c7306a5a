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
