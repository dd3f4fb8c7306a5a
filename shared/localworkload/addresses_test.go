package localworkload

import (
	"net"
	"net/netip"
	"testing"
)

func TestAddressesAreDistinct(t *testing.T) {
	a := NewAddresses(netip.Addr{})
	var got []string
	for range 3 {
		addr, err := a.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, addr.String())
	}
	if want := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("NewAddresses hands out %v, want %v", got, want)
	}

	a = NewAddresses(netip.MustParseAddr("127.0.0.255"))
	if addr, _ := a.Next(); addr.String() != "127.0.0.255" {
		t.Errorf("first = %v", addr)
	}
	if addr, _ := a.Next(); addr.String() != "127.0.1.1" {
		t.Errorf("after 127.0.0.255: %v, want 127.0.1.1 (x.y.z.0 skipped)", addr)
	}

	a = NewAddresses(netip.MustParseAddr("127.255.255.254"))
	if _, err := a.Next(); err != nil {
		t.Fatal(err)
	}
	if addr, err := a.Next(); err == nil {
		t.Errorf("past 127.255.255.254: %v, want an error", addr)
	}
}

// TestAddressesSkipTakenPorts needs Linux's loopback routing (or aliases).
func TestAddressesSkipTakenPorts(t *testing.T) {
	first, err := NewRandomAddresses().Next()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(first.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %v (macOS without an lo0 alias?): %v", first, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	a := NewAddresses(first)
	got, err := a.Next(port)
	if err != nil {
		t.Fatal(err)
	}
	if got != first.Next() {
		t.Errorf("Next(%d) = %v, want %v (%v has the port taken)", port, got, first.Next(), first)
	}
	// The address handed out can be listened on.
	l2, err := net.Listen("tcp", net.JoinHostPort(got.String(), "0"))
	if err != nil {
		t.Fatalf("listen on the handed-out address: %v", err)
	}
	_ = l2.Close()
}
