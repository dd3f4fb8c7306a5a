package main

import (
	"fmt"
	"strconv"
	"strings"
)

// ContextProxyReservedConcurrency reserves concurrency for the proxy
// function (a whole number ≥ 1; default: none, like every function, see
// ReservedConcurrency). Each request the proxy holds while a rule wakes
// occupies one concurrent execution for up to the rule's holdSeconds, so a
// burst of first requests can use up the account's unreserved concurrency
// (1,000 by default, 10 in new accounts) and throttle every other function
// of the account, the workflow steps included. A reservation both
// guarantees the proxy that much and caps it there: size it as the sum of
// the rules' maxHeldRequests you expect to wake at once, plus headroom for
// the quick answers (progress pages, polls). Lambda keeps 100 of the
// account's concurrency unreserved, so the value must leave that.
const ContextProxyReservedConcurrency = "proxyReservedConcurrency"

// ProxyFunctionID is the function the context applies to.
const ProxyFunctionID = "proxy"

// readProxyReservedConcurrency returns the reservation, 0 for none.
func readProxyReservedConcurrency(get func(string) any) (int, error) {
	v := get(ContextProxyReservedConcurrency)
	if v == nil {
		return 0, nil
	}
	s := strings.TrimSpace(fmt.Sprint(v))
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 1 || n != float64(int(n)) {
		return 0, fmt.Errorf("context %s=%q: want a whole number of concurrent executions, at least 1", ContextProxyReservedConcurrency, s)
	}

	return int(n), nil
}
