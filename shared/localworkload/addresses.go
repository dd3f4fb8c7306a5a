package localworkload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
)

// FirstAddress is where NewAddresses starts by default: 127.0.0.1 is left
// to the local backend, the front and everything else on the machine.
var FirstAddress = netip.AddrFrom4([4]byte{127, 0, 0, 2})

// Addresses hands out distinct loopback addresses, one per seeded instance
// (its AddressTag), so each instance has its own IP as on EC2 and every
// instance can serve the same port (8080, say: no privileges needed).
//
// Linux routes all of 127.0.0.0/8 to the loopback interface: any of these
// addresses can be listened on without setup. macOS configures 127.0.0.1
// only; add each address first (sudo ifconfig lo0 alias 127.0.0.2 up), or
// listening fails with "can't assign requested address".
//
// It is safe for concurrent use.
type Addresses struct {
	mu   sync.Mutex
	next netip.Addr
}

// NewAddresses hands out first, then the addresses after it (127.0.0.2,
// 127.0.0.3, …, 127.0.1.0, …). A zero first means FirstAddress.
func NewAddresses(first netip.Addr) *Addresses {
	if !first.IsValid() {
		first = FirstAddress
	}

	return &Addresses{next: first}
}

// NewRandomAddresses starts at a random address of 127.1.0.0–127.254.255.0,
// so that test processes running at the same time (go test runs packages
// in parallel), each with its own backend, do not hand out the same
// addresses. Demos use NewAddresses.
func NewRandomAddresses() *Addresses {
	return NewAddresses(netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(2 + rand.IntN(200))}))
}

// Next returns the next address at which each of ports can be listened on
// right now: an address where one of them is taken (another process, an
// earlier run) is skipped. Without ports it checks nothing. It fails when
// 127.0.0.0/8 is exhausted, or when a port cannot be listened on for
// another reason than being taken (the address is not configured, as on
// macOS; a port below 1024 without privileges).
func (a *Addresses) Next(ports ...int) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		addr := a.next
		if !addr.Is4() || addr.As4()[0] != 127 || addr == netip.AddrFrom4([4]byte{127, 255, 255, 255}) {
			return netip.Addr{}, fmt.Errorf("no loopback address left after %v", addr.Prev())
		}
		a.next = addr.Next()
		if addr.As4()[3] == 0 || addr == netip.AddrFrom4([4]byte{127, 0, 0, 1}) {
			continue // x.y.z.0 looks like a network address; 127.0.0.1 is shared
		}
		taken, err := portsTaken(addr, ports)
		if err != nil {
			return netip.Addr{}, err
		}
		if !taken {
			return addr, nil
		}
	}
}

// portsTaken reports whether one of ports is already listened on at addr.
func portsTaken(addr netip.Addr, ports []int) (bool, error) {
	for _, p := range ports {
		hostPort := net.JoinHostPort(addr.String(), strconv.Itoa(p))
		ln, err := net.Listen("tcp", hostPort)
		if errors.Is(err, syscall.EADDRINUSE) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("listen on %s: %w%s", hostPort, err, bindHint(addr, err))
		}
		_ = ln.Close()
	}

	return false, nil
}
