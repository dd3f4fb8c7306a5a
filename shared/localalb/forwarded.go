package localalb

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// forwardedFor is X-Forwarded-For as the ALB sends it to targets: what the
// client sent, with the client's address appended.
func (req *request) forwardedFor() string {
	return strings.Join(append(slices.Clone(req.r.Header.Values("X-Forwarded-For")), req.clientIP), ", ")
}

// forwardedPort is X-Forwarded-Port: the evaluated listener's port.
func (req *request) forwardedPort() string { return strconv.Itoa(int(req.listener.port)) }

// traceID is X-Amzn-Trace-Id: the client's when it sent one, else a new
// root in the X-Ray format the ALB uses (Root=1-<epoch hex>-<96 random bits>).
// It is made once per request.
func (req *request) traceID() string {
	if req.trace == "" {
		if t := req.r.Header.Get("X-Amzn-Trace-Id"); t != "" {
			req.trace = t
		} else {
			req.trace = newTraceID(time.Now())
		}
	}

	return req.trace
}

func newTraceID(now time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])

	return fmt.Sprintf("Root=1-%08x-%s", now.Unix(), hex.EncodeToString(b[:]))
}
