package localworkload

import (
	"fmt"
	"strings"
	"time"
)

// EventKind is what happened to a stand-in.
type EventKind string

// Kinds of Event, in the order a stand-in's life goes through them.
const (
	// EventStarting: the supervisor saw the instance running and started
	// its app, which listens after its startup delay.
	EventStarting EventKind = "starting"
	// EventListening: the app listens on every port.
	EventListening EventKind = "listening"
	// EventStopped: the app was stopped (Reason says why) and no longer
	// listens.
	EventStopped EventKind = "stopped"
	// EventFailed: the app could not listen, or the instance's tags are
	// malformed (Reason says which); nothing listens. The supervisor does
	// not retry until the instance leaves "running" or its tags change.
	EventFailed EventKind = "failed"
)

// Why a stand-in stopped (Event.Reason of EventStopped), besides the
// instance's state name ("stopping", "stopped", "shutting-down",
// "terminated", "pending").
const (
	ReasonGone        = "instance gone"
	ReasonTagsChanged = "tags changed"
	ReasonShutdown    = "supervisor stopped"
)

// Event is one entry of the supervisor's event log.
type Event struct {
	Time       time.Time
	InstanceID string
	Kind       EventKind
	// Addrs are the host:port addresses of the stand-in (none when the
	// tags are malformed).
	Addrs []string
	// Reason: why it stopped, or the error of a failure.
	Reason string
}

// String formats the event for a demo's output, for example
// "12:00:01.234 i-0a1b2c3d listening 127.0.0.2:8080".
func (e Event) String() string {
	s := fmt.Sprintf("%s %s %s", e.Time.Format("15:04:05.000"), e.InstanceID, e.Kind)
	if len(e.Addrs) > 0 {
		s += " " + strings.Join(e.Addrs, ",")
	}
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}

	return s
}
